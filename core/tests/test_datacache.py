"""The shared dataset helper: one build under a lock, waiting ranks, atomic publish."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from dte_core import datacache
from dte_core.datacache import MARKER, DatasetError, dataset

# A process that builds `folder` slowly, counting its builds in `log`.
BUILDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from dte_core.datacache import dataset

    folder, log, pause = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])

    def build(tmp):
        with log.open("a") as f:
            f.write("built\\n")
        (tmp / "data.txt").write_text("half")
        time.sleep(pause)
        (tmp / "data.txt").write_text("complete")
        return {"rows": 1}

    print(dataset(folder, build, {"seed": 1}, label="test"))
""")


def start(folder: Path, log: Path, pause: float, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", BUILDER, str(folder), str(log), str(pause)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env})


def write(text: str):
    def build(tmp: Path) -> None:
        (tmp / "data.txt").write_text(text)
    return build


def test_two_processes_racing_build_once_and_both_get_the_complete_folder(tmp_path):
    folder, log = tmp_path / "cache" / "abc", tmp_path / "builds.log"
    first, second = start(folder, log, 1.5), start(folder, log, 1.5)
    outs = [p.communicate(timeout=60) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    assert [o[0].strip() for o in outs] == [str(folder)] * 2
    assert log.read_text() == "built\n"
    assert (folder / "data.txt").read_text() == "complete"
    marker = json.loads((folder / MARKER).read_text())
    assert marker["fingerprint"] == {"seed": 1} and marker["summary"] == {"rows": 1}
    assert "waiting for another process" in outs[0][1] + outs[1][1]
    assert sorted(p.name for p in folder.parent.iterdir()) == ["abc", "abc.lock"]


def test_a_rank_other_than_local_zero_waits_for_the_builders_marker(tmp_path):
    folder, log = tmp_path / "abc", tmp_path / "builds.log"
    waiter = start(folder, log, 0.0, RANK="1", LOCAL_RANK="1", WORLD_SIZE="2")
    time.sleep(1.0)
    assert waiter.poll() is None and not log.exists()  # it never builds itself
    assert dataset(folder, write("complete"), {"seed": 1}) == folder
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    assert out.strip() == str(folder) and not log.exists()


def test_a_waiting_rank_gives_up_after_DTE_DATA_WAIT_S_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("DTE_DATA_WAIT_S", "0.5")
    started = time.monotonic()
    with pytest.raises(DatasetError) as caught:
        dataset(tmp_path / "abc", write("x"), {"seed": 1}, is_builder=False)
    assert 0.5 <= time.monotonic() - started < 5
    message = str(caught.value)
    assert "waited 0.5 s" in message and "DTE_DATA_WAIT_S" in message
    assert not (tmp_path / "abc").exists()


def test_a_bad_DTE_DATA_WAIT_S_is_an_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DTE_DATA_WAIT_S", "soon")
    with pytest.raises(DatasetError, match="DTE_DATA_WAIT_S='soon' is not a positive"):
        dataset(tmp_path / "abc", write("x"), {"seed": 1}, is_builder=False)


def test_a_lock_and_partial_left_by_a_killed_builder_do_not_block_the_next(tmp_path):
    folder, log = tmp_path / "abc", tmp_path / "builds.log"
    victim = start(folder, log, 60.0)
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob(".abc.partial-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".abc.partial-*")), "the builder never started"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    assert (tmp_path / "abc.lock").exists() and not folder.exists()
    assert dataset(folder, write("fresh"), {"seed": 1}) == folder
    assert (folder / "data.txt").read_text() == "fresh"
    assert not list(tmp_path.glob(".abc.partial-*"))


def test_a_failed_build_leaves_nothing_half_written_and_the_next_call_builds(tmp_path):
    folder = tmp_path / "abc"

    def broken(tmp: Path) -> None:
        (tmp / "data.txt").write_text("half")
        raise RuntimeError("generator crashed")

    with pytest.raises(RuntimeError, match="generator crashed"):
        dataset(folder, broken, {"seed": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abc.lock"]
    assert dataset(folder, write("ok"), {"seed": 1}) == folder
    assert (folder / "data.txt").read_text() == "ok"


def test_a_complete_dataset_is_reused_without_building(tmp_path):
    folder = tmp_path / "abc"
    dataset(folder, write("first"), {"seed": 1, "n": [1, 2]})

    def never(tmp: Path) -> None:
        raise AssertionError("built again")

    assert dataset(folder, never, {"n": (1, 2), "seed": 1}) == folder  # same JSON fingerprint
    assert (folder / "data.txt").read_text() == "first"


def test_an_unmarked_folder_is_rebuilt_and_a_foreign_fingerprint_refused(tmp_path):
    folder = tmp_path / "abc"
    folder.mkdir()
    (folder / "old.h5").write_text("from an older layout")
    dataset(folder, write("new"), {"seed": 1})
    assert sorted(p.name for p in folder.iterdir()) == sorted([MARKER, "data.txt"])
    with pytest.raises(DatasetError, match="other settings") as caught:
        dataset(folder, write("other"), {"seed": 2})
    assert "Delete the folder" in str(caught.value)
    assert datacache.read_marker(folder)["fingerprint"] == {"seed": 1}
