"""`--remote`: submit through the system ssh to a login host (an sshd on 127.0.0.1 started
here with a throwaway key; the "remote" cluster is the local SLURM)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import DTE, dte_env

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def login_host(tmp_path_factory, slurm):
    """An sshd on 127.0.0.1 accepting one generated key; yields the ssh options for it."""
    if not os.path.exists(SSHD) or shutil.which("ssh-keygen") is None:
        pytest.fail("openssh-server is needed (apt-get install openssh-server; .ci/run does)")
    root = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)],
                       check=True)
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    port = free_port()
    (root / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host_key'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nPasswordAuthentication no\n"
        f"KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nStrictModes no\n"
        f"UsePAM no\nPidFile {root / 'sshd.pid'}\nSetEnv SLURM_CONF={slurm['SLURM_CONF']}\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    with open(root / "sshd.log", "w") as log:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(root / "sshd_config")],
                                stderr=log, start_new_session=True)
    options = ["-p", str(port), "-i", str(root / "client_key"), "-o",
               "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR"]
    deadline = time.monotonic() + 20
    while subprocess.run(["ssh", "-o", "BatchMode=yes", *options, "root@127.0.0.1", "true"],
                         capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, (root / "sshd.log").read_text()
        time.sleep(0.3)
    yield options
    proc.terminate()
    proc.wait(10)


def site_file(project: Path, remote_home: Path, options: list[str], name: str = "loopback"):
    (project / "dte.toml").write_text(
        f'default_site = "{name}"\n[sites.{name}]\nremote = "root@127.0.0.1"\n'
        f'remote_workdir = "{remote_home}"\npython = "{sys.executable}"\n'
        f"ssh_options = {json.dumps(options)}\n")


def run(*args, cwd):
    return subprocess.run([DTE, *args], cwd=cwd, env=dte_env(), capture_output=True, text=True,
                          timeout=300)


def test_submit_status_and_logs_over_ssh(login_host, tmp_path):
    project, remote = tmp_path / "laptop", tmp_path / "cluster-home"
    project.mkdir()
    site_file(project, remote, login_host)
    (project / "notes.md").write_text("analysis code\n")
    for cmd in (["init", "-q"], ["add", "notes.md"],
                ["-c", "user.email=ci@dte", "-c", "user.name=ci", "commit", "-qm", "x"]):
        subprocess.run(["git", *cmd], cwd=project, check=True)
    submitted = run("train", "toy", "--backend", "slurm", "--time", "10",
                    "--set", "train.epochs=1", "--sync-code", cwd=project)
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip()
    assert "on root@127.0.0.1" in submitted.stderr
    assert (remote / "code" / "notes.md").read_text() == "analysis code\n"  # --sync-code
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = json.loads(run("jobs", "status", job, "--json", cwd=project).stdout)
        # The state and the events are two reads: wait for both to show the end of the job.
        if not any(s.split()[0] in ("PENDING", "RUNNING", "COMPLETING")
                   for s in status["scheduler"].values()) and \
                any(e["event"] == "finished" for e in status["events"]):
            break
        time.sleep(2)
    assert status["scheduler"][job].startswith("COMPLETED"), status
    assert [e["event"] for e in status["events"]] == ["started", "finished"]
    remote_run = Path(status["runs"][0])
    assert remote_run.is_relative_to(remote)
    assert json.loads((remote_run / "run.json").read_text())["status"] == "finished"
    local = json.loads(next((project / "runs" / "toy").glob("*/run.json")).read_text())
    assert local["remote"] == "root@127.0.0.1" and local["job_id"] == job
    assert "finished" in run("jobs", "logs", job, cwd=project).stdout


def test_ssh_failure_shows_ssh_own_message(login_host, tmp_path):
    options = [o if o != login_host[1] else str(free_port()) for o in login_host]
    site_file(tmp_path, tmp_path / "nowhere", options)
    result = run("train", "toy", "--backend", "slurm", cwd=tmp_path)
    assert result.returncode != 0
    text = " ".join(result.stderr.split())
    assert "ssh to root@127.0.0.1 failed" in text and "Connection refused" in text
    assert not (tmp_path / "runs").exists()


PG_URL = "postgresql+psycopg://optuna:optuna@127.0.0.1:5499/optuna"


def test_tune_workers_over_ssh_share_a_database_study(login_host, tmp_path):
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", 5499)) != 0:
            pytest.skip("no PostgreSQL on 127.0.0.1:5499: start it with `bash "
                        ".ci/start-postgres.sh` (as .ci/run does)")
    project, remote = tmp_path / "laptop", tmp_path / "cluster-home"
    project.mkdir()
    site_file(project, remote, login_host)
    name = f"remote-{int(time.time() * 1000)}"
    submitted = run("tune", "toy", "--trials", "2", "--workers", "2", "--study", name,
                    "--storage", PG_URL, "--backend", "slurm", "--time", "10",
                    "--set", "train.epochs=1", cwd=project)
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip()
    assert "on root@127.0.0.1" in submitted.stderr
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = json.loads(run("tune", "status", name, "--storage", PG_URL, "--json",
                                cwd=project).stdout)["states"]
        if status.get("COMPLETE", 0) + status.get("PRUNED", 0) >= 2:
            break
        time.sleep(2)
    assert status.get("COMPLETE", 0) + status.get("PRUNED", 0) == 2, status
    folder = remote / ".dte" / "hpo"
    assert (folder / name / "workers.sbatch").is_file()
    assert len(list(folder.glob(f"slurm-{job}_*.out"))) == 2
    assert len(list((remote / "runs" / "toy").glob("*/run.json"))) == 2  # trials ran there
    recorded = json.loads(run("jobs", "status", job, "--json", cwd=project).stdout)
    assert set(recorded["scheduler"]) == {f"{job}_0", f"{job}_1"}, recorded
