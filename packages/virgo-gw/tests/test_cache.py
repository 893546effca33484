"""The default dataset under .dte/data/virgo-gw: keyed by its settings, made once, locked."""

from __future__ import annotations

import fcntl
import threading
import time

import pytest
from dte_virgo_gw.generate import default_dataset, key


def test_key_follows_what_changes_the_samples(tiny_config):
    assert key(tiny_config) == key(tiny_config.model_copy(update={"workers": 2,
                                                                 "val_fraction": 0.5}))
    for change in ({"seed": 1}, {"samples": 13}, {"glitch_rate": 0.5}, {"norm": "mean"}):
        assert key(tiny_config.model_copy(update=change)) != key(tiny_config), change


@pytest.mark.slow
def test_generated_once_then_reused_and_waits_for_a_generating_process(
        tmp_path, monkeypatch, tiny_config, capfd):
    monkeypatch.setenv("DTE_PROJECT_DIR", str(tmp_path))
    small = tiny_config.model_copy(update={"samples": 3})
    root = tmp_path / ".dte" / "data" / "virgo-gw"
    root.mkdir(parents=True)
    stale = root / f".{key(small)}.partial-999999"
    stale.mkdir()  # left by a process that was killed mid-generation
    lock = open(root / f"{key(small)}.lock", "w")  # noqa: SIM115 - held across threads
    fcntl.flock(lock, fcntl.LOCK_EX)  # another process is generating
    result = {}
    waiter = threading.Thread(target=lambda: result.update(file=default_dataset(small)))
    waiter.start()
    time.sleep(1.0)
    assert waiter.is_alive()  # it waits for the lock instead of generating alongside
    fcntl.flock(lock, fcntl.LOCK_UN)
    lock.close()
    waiter.join(timeout=120)
    file = result["file"]
    assert file == root / key(small) / "virgo-gw.h5" and file.is_file()
    assert not stale.exists()
    err = " ".join(capfd.readouterr().err.split())
    assert "waiting for another process" in err and "generating 3 samples" in err
    mtime = file.stat().st_mtime_ns
    assert default_dataset(small) == file and file.stat().st_mtime_ns == mtime
    assert "using the generated dataset" in " ".join(capfd.readouterr().err.split())
