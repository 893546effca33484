"""One writer per run: the owner's lock, refusals naming it, a dead owner read as interrupted,
and run.json updates that never lose each other's fields (real processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from dte_core import ownership, rundir

OWNER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from dte_core import ownership, rundir
    run = rundir.RunDir(Path(sys.argv[1]))
    with ownership.own(run, print):
        run.update(status="running")
        print("owned", flush=True)
        time.sleep(600)
""")


def _owner(run: rundir.RunDir) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", OWNER, str(run.path)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "owned"
    return proc


def test_a_live_owner_is_named_and_a_killed_one_reads_as_interrupted(tmp_path):
    run = rundir.create(tmp_path, "toy", "train: {}\n")
    proc = _owner(run)
    try:
        assert ownership.status(run) == "running"
        with pytest.raises(ownership.RunOwned, match=f"pid {proc.pid} on host"):
            ownership.check_free(run)
        with pytest.raises(ownership.RunOwned), ownership.own(run, print):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert run.info()["status"] == "running"  # nobody could record the end...
    assert ownership.status(run) == "interrupted"  # ...but the released lock tells
    warned = []
    with ownership.own(run, warned.append):
        assert ownership.holder(run)[0]
    assert f"pid {proc.pid}" in warned[0] and "died" in warned[0]


def test_concurrent_updates_keep_every_field(tmp_path):
    run = rundir.create(tmp_path, "toy", "train: {}\n")
    code = ("import sys; from pathlib import Path; from dte_core import rundir; "
            "r = rundir.RunDir(Path(sys.argv[1]))\n"
            "for i in range(40): r.update(**{f'{sys.argv[2]}{i}': i})")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(run.path), name])
             for name in ("a", "b")]
    assert [p.wait(120) for p in procs] == [0, 0]
    info = run.info()
    assert all(f"{name}{i}" in info for name in ("a", "b") for i in range(40))


def test_a_worker_dies_with_its_launcher(tmp_path):
    """The launcher (a shell here) starts the worker in a new session, then is SIGKILLed."""
    pid_file = tmp_path / "worker.pid"
    worker = ("import os, sys, time; from dte_core.parent import watch_parent; watch_parent(); "
              f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)")
    launcher = subprocess.Popen([sys.executable, "-c",
                                 "import subprocess, sys, time; subprocess.Popen([sys.executable,"
                                 f" '-c', {worker!r}], start_new_session=True); time.sleep(600)"])
    deadline = time.monotonic() + 60
    while not (pid_file.is_file() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    launcher.kill()
    launcher.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (not yet reaped by init) is dead too
        return open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] != "Z"
    except OSError:
        return False
