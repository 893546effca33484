"""Model packages carry a sha256 per file; a tampered, truncated, linked or foreign package is
refused with one paragraph on every load, the model cache included."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from clean_error import assert_clean_error
from dte_core import checkpoint, rundir
from dte_core.errors import DteError
from dte_core.registry import package
from support import dte

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One trained toy run, registered once (cache filled) and packaged once."""
    root = tmp_path_factory.mktemp("integrity")
    assert dte("train", "toy", "--set", "train.epochs=1", cwd=root).returncode == 0
    np.savez(root / "x.npz", x=np.zeros((2, 8), dtype="f4"))
    reg = dte("register", "latest", "--name", "sealed", cwd=root)
    assert reg.returncode == 0, reg.stderr
    first = dte("predict", "toy", "--model", "models:/sealed/1", "--input", "x.npz",
                "--output", "y.npz", cwd=root)  # fills the model cache
    assert first.returncode == 0, first.stderr
    run = rundir.list_runs(root / "runs", "toy")[-1]
    folder = root / "package"
    package.build(run, checkpoint.select_of_run(run, None), folder)
    return root, folder


def _copy(built, tmp_path):
    folder = tmp_path / "pkg"
    shutil.copytree(built[1], folder, symlinks=True)
    return folder


def _rewrite_meta(folder, **changes):
    meta = json.loads((folder / package.META).read_text())
    meta.update(changes)
    (folder / package.META).write_text(json.dumps(meta))


def test_every_file_is_recorded_and_an_intact_package_loads(built, tmp_path):
    folder = _copy(built, tmp_path)
    meta = package.read_meta(folder)
    assert set(meta["files"]) >= {package.WEIGHTS, "config.yaml"}
    assert meta["files"] == package.file_hashes(folder)
    package.load(folder)


def _truncate(folder):
    path = folder / package.WEIGHTS
    path.write_bytes(path.read_bytes()[:-7])


def _flip_byte(folder):
    data = bytearray((folder / package.WEIGHTS).read_bytes())
    data[-1] ^= 0xFF
    (folder / package.WEIGHTS).write_bytes(bytes(data))


def _bad_header(folder):
    data = (folder / package.WEIGHTS).read_bytes()
    (folder / package.WEIGHTS).write_bytes(b"\xff" * 8 + data[8:])


def _shadow_config(folder):
    (folder / "config.yaml").unlink()
    (folder / "config.yaml").symlink_to("/etc/shadow")


def _extra_file(folder):
    (folder / "payload.pkl").write_bytes(b"cos\nsystem\n(S'id'\ntR.")


def _unhashed(folder):
    meta = json.loads((folder / package.META).read_text())
    del meta["files"]
    (folder / package.META).write_text(json.dumps(meta))


def _escape(folder):
    meta = json.loads((folder / package.META).read_text())
    meta["files"]["../outside"] = {"sha256": "0" * 64, "bytes": 1}
    (folder / package.META).write_text(json.dumps(meta))


@pytest.mark.parametrize(("tamper", "why"), [
    (_truncate, "not the file it was built with"), (_flip_byte, "not the file it was built"),
    (_bad_header, "not the file it was built with"), (_shadow_config, "symbolic link"),
    (_extra_file, "'payload.pkl' is not one of its recorded files"),
    (_unhashed, "records no file hashes"), (_escape, "'../outside' is missing")])
def test_a_tampered_package_is_refused(built, tmp_path, tamper, why):
    folder = _copy(built, tmp_path)
    tamper(folder)
    with pytest.raises(DteError, match="cannot be trusted") as caught:
        package.load(folder)
    assert why in str(caught.value) and "dte register" in str(caught.value)


def test_weights_that_do_not_fit_are_one_message_even_with_fresh_hashes(built, tmp_path):
    """Size mismatch / unexpected key with hashes recomputed: the load itself explains."""
    from safetensors.numpy import load_file, save_file

    folder = _copy(built, tmp_path)
    flat = load_file(str(folder / package.WEIGHTS))
    first = sorted(flat)[0]
    flat[first] = np.zeros((3, 3, 3), dtype="f4")
    flat["model/unexpected"] = np.zeros(1, dtype="f4")
    save_file(flat, str(folder / package.WEIGHTS))
    _rewrite_meta(folder, files=package.file_hashes(folder))
    with pytest.raises(DteError, match="do not fit the science 'toy'"):
        package.load(folder)
    _rewrite_meta(folder, framework="tensorflow")
    with pytest.raises(DteError, match="says its weights are for 'tensorflow'"):
        package.load(folder)


def test_the_model_cache_is_verified_on_every_load(built, tmp_path):
    root = built[0]
    cached = root / ".dte" / "models" / "sealed" / "1" / "dte-model"
    original = (cached / package.WEIGHTS).read_bytes()
    try:
        _truncate(cached)
        result = dte("predict", "toy", "--model", "models:/sealed/1", "--input", "x.npz",
                     "--output", str(tmp_path / "y.npz"), cwd=root)
        assert_clean_error(result, "cannot be trusted", "weights.safetensors")
        assert not (tmp_path / "y.npz").exists()
        _shadow_config(cached)
        result = dte("predict", "toy", "--model", "models:/sealed/1", "--input", "x.npz",
                     "--output", str(tmp_path / "y.npz"), cwd=root)
        assert_clean_error(result, "symbolic link")
        assert "root:" not in result.stderr
    finally:
        (cached / package.WEIGHTS).write_bytes(original)
        if (cached / "config.yaml").is_symlink():
            (cached / "config.yaml").unlink()
            shutil.copy(root / "package" / "config.yaml", cached / "config.yaml")
    assert os.path.exists(cached / "config.yaml")
