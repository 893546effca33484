"""The local index of submitted jobs (`.dte/jobs.jsonl`) and their scheduler states."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dte_core.errors import DteError
from dte_core.paths import state_dir

from dte_cli.backends import values
from dte_cli.backends.hosts import Host


@dataclass
class JobRecord:
    """One submission."""

    job_id: str
    science: str
    run_dirs: list[str]
    local_runs: list[str]
    remote: str | None = None
    ssh_options: list[str] = field(default_factory=list)
    submitted: float = field(default_factory=time.time)
    array: str | None = None

    def host(self) -> Host:
        return Host(self.remote, self.ssh_options)


def index_path() -> Path:
    return state_dir() / "jobs.jsonl"


def record(job: JobRecord) -> None:
    path = index_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps(asdict(job)) + "\n")


def all_jobs() -> list[JobRecord]:
    path = index_path()
    if not path.is_file():
        return []
    jobs = []
    for line in path.read_text().splitlines():
        try:
            jobs.append(JobRecord(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return jobs


def find(job_id: str) -> JobRecord:
    values.job_id(job_id)
    for job in reversed(all_jobs()):
        if job.job_id == job_id:
            return job
    known = ", ".join(j.job_id for j in all_jobs()[-10:]) or "none"
    raise DteError(f"No job {job_id!r} in this project's index ({index_path()}). Recent jobs: "
                   f"{known}. `dte jobs list` shows them all.")


def state(job: JobRecord) -> dict[str, str]:
    """Scheduler state per job (array tasks apart): squeue, then scontrol, then sacct."""
    host = job.host()
    out = host.text(["squeue", "-h", "-j", job.job_id, "-o", "%i|%T|%M|%R"], check=False)
    states = {}
    for line in out.splitlines():
        job_id, st, elapsed, reason = (line.split("|") + ["", "", ""])[:4]
        states[job_id] = f"{st} {elapsed} {reason}".strip()
    if states:
        return states
    shown = host.text(["scontrol", "-o", "show", "job", job.job_id], check=False)
    for line in shown.splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        job_id = fields.get("JobId", job.job_id)
        if fields.get("ArrayTaskId"):
            job_id = f"{fields.get('ArrayJobId')}_{fields['ArrayTaskId']}"
        states[job_id] = fields.get("JobState", "UNKNOWN") + (
            f" exit {fields['ExitCode']}" if "ExitCode" in fields else "")
    if states:
        return states
    acct = host.text(["sacct", "-n", "-P", "-X", "-j", job.job_id, "-o", "JobID,State,ExitCode"],
                     check=False)
    for line in acct.splitlines():
        job_id, st, code = (line.split("|") + ["", ""])[:3]
        states[job_id] = f"{st} exit {code}"
    return states or {job.job_id: "UNKNOWN (no longer known to the scheduler)"}


def events(job: JobRecord) -> list[dict]:
    """slurm-events.jsonl of the job's runs (started, time_limit, preempted, finished)."""
    host = job.host()
    found = []
    for run_dir in job.run_dirs:
        text = host.text(["sh", "-c", 'cat "$1/slurm-events.jsonl" 2>/dev/null || true', "sh",
                          run_dir], check=False)
        for line in text.splitlines():
            try:
                found.append({"run_dir": run_dir, **json.loads(line)})
            except ValueError:
                continue
    return found
