"""Import TensorFlow and Keras once, quietly, with the error that names the install line."""

from __future__ import annotations

import os
import sys
import tempfile
from types import ModuleType


def tensorflow() -> ModuleType:
    """The `tensorflow` module (Keras on its TensorFlow backend).

    TensorFlow's C++ start-up banners (CUDA probing, oneDNN notes) ignore TF_CPP_MIN_LOG_LEVEL
    in recent releases; they are held back during the import and shown only if it fails, or
    always with DTE_TF_VERBOSE=1."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["KERAS_BACKEND"] = "tensorflow"  # this path is TensorFlow's, whatever is set
    from dte_core.optional import require

    if os.environ.get("DTE_TF_VERBOSE"):
        return require("tensorflow", extra="tensorflow")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            return require("tensorflow", extra="tensorflow")
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def keras() -> ModuleType:
    tensorflow()
    import keras

    return keras
