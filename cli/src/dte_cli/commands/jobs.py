"""`dte jobs list|status|logs|cancel`: the batch jobs this project submitted."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.options import JsonOpt

app = new_app(name="jobs", help="Submitted SLURM jobs: list, status, logs, cancel.",
              no_args_is_help=True)
JobArg = Annotated[str, typer.Argument(help="Job id (as printed at submission).",
                                       show_default=False)]


@app.command("list")
def list_(as_json: JsonOpt = False,
          states: Annotated[bool, typer.Option("--states", help="Ask the scheduler for each "
                                               "job's state (slower).")] = False) -> None:
    """Jobs submitted from this project, newest last."""
    from dte_cli.backends import jobs

    rows = []
    for job in jobs.all_jobs():
        row = {"job_id": job.job_id, "science": job.science, "runs": len(job.run_dirs),
               "remote": job.remote or "", "submitted": time.strftime(
                   "%Y-%m-%d %H:%M:%S", time.localtime(job.submitted))}
        if states:
            row["state"] = "; ".join(f"{k}: {v}" for k, v in jobs.state(job).items())
        rows.append(row)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    from rich.table import Table
    from rich.text import Text

    from dte_cli.console import out

    table = Table(title="Submitted jobs")
    columns = list(rows[0]) if rows else ["job_id", "science", "runs", "remote", "submitted"]
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(str(row[c])) for c in columns))
    out().print(table)


@app.command()
def status(job_id: JobArg, as_json: JsonOpt = False) -> None:
    """Scheduler state, run status and checkpoint/requeue events of one job."""
    from dte_cli.backends import jobs

    job = jobs.find(job_id)
    events = jobs.events(job)
    counts = {kind: sum(e["event"] == kind for e in events)
              for kind in ("time_limit", "preempted", "finished")}
    runs = {}
    for path in job.local_runs:
        try:
            runs[path] = json.loads((Path(path) / "run.json").read_text()).get("status")
        except (OSError, ValueError):
            runs[path] = None
    report = {"job_id": job.job_id, "science": job.science, "remote": job.remote,
              "scheduler": jobs.state(job), "requeues_after_time_limit": counts["time_limit"],
              "preemptions": counts["preempted"], "runs": job.run_dirs, "events": events}
    if not job.remote:
        report["run_status"] = runs
    if as_json:
        print(json.dumps(report, indent=2))
        return
    from dte_cli.summary import print_fields

    print_fields(f"job {job.job_id}", report)


@app.command()
def logs(job_id: JobArg,
         follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new "
                                              "output until the job ends.")] = False,
         lines: Annotated[int, typer.Option("--lines", "-n", help="Lines from the end.")] = 100
         ) -> None:
    """The job's output file(s) (slurm-JOB.out in the run directory)."""
    import subprocess

    from dte_cli.backends import jobs, values

    job = jobs.find(job_id)
    host = job.host()
    folder = job.run_dirs[0] if not job.array else job.run_dirs[0].rsplit("/", 1)[0]
    # the job id is checked digits (`values.job_id`) and reaches sh as an argument, never as code
    pattern = '"slurm-$2.out"' if not job.array else '"slurm-$2_"*.out'
    command = ["sh", "-c", f'cd "$1" && exec tail -n "$3" {"-F" if follow else ""} {pattern}',
               "sh", folder, values.job_id(job.job_id), str(int(lines))]
    if not follow:
        print(host.text(command, check=False), end="")
        return
    proc = subprocess.Popen(host.argv(command))
    try:
        while proc.poll() is None:
            time.sleep(2)
            if all(s.split()[0] not in ("PENDING", "RUNNING", "REQUEUED", "CONFIGURING",
                                        "COMPLETING", "SUSPENDED")
                   for s in jobs.state(job).values()):
                time.sleep(1)
                break
    finally:
        proc.terminate()


@app.command()
def cancel(job_id: JobArg) -> None:
    """Cancel a job (all its array tasks)."""
    from dte_cli.backends import jobs
    from dte_cli.console import err

    job = jobs.find(job_id)
    job.host().run(["scancel", job.job_id])
    err().print(f"cancelled job {job.job_id}")
