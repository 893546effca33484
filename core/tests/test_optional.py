"""Optional engines fail with the install command."""

import pytest
from dte_core.errors import MissingDependencyError
from dte_core.optional import require


def test_missing_engine_names_the_extra():
    with pytest.raises(MissingDependencyError, match=r"pip install 'dte-core\[horovod\]'"):
        require("horovod_not_a_real_module", extra="horovod")


def test_present_module_is_returned():
    assert require("json").dumps([1]) == "[1]"
