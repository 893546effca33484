"""Submit a training run to SLURM, here or on a login host over ssh, and record the job."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dte_core import paths, rundir
from dte_core.config import to_yaml
from dte_core.errors import ConfigError

from dte_cli.backends import jobs, sites, slurm
from dte_cli.backends.hosts import Host


@dataclass
class SlurmOptions:
    """The command line's resource request (None: the site profile's value)."""

    site: str | None = None
    nodes: int | None = None
    gpus: int | None = None
    procs: int | None = None
    time: str | None = None
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    mem: str | None = None
    cpus_per_task: int | None = None
    constraint: str | None = None
    container: str | None = None
    env: list[str] = field(default_factory=list)
    setup: list[str] = field(default_factory=list)
    remote: str | None = None
    sync_code: bool = False
    array: int | None = None
    array_limit: int | None = None
    job_name: str | None = None
    task_layout: str | None = None


def _layout(strategy: str, nodes: int, per_node: int, asked: str | None) -> str:
    """The task layout: the strategy's own, or the one asked for if the strategy allows it."""
    from dte_core.strategies import CATALOG, check_name, strategy_class

    check_name(strategy)
    if strategy == "single" and nodes * per_node > 1:
        raise ConfigError(f"--strategy single runs one process, but the request makes "
                          f"{nodes * per_node}. Use --strategy ddp (or auto).")
    concrete = "ddp" if strategy == "auto" else strategy
    cls = strategy_class(concrete, CATALOG[concrete][0])
    if asked is None:
        return cls.task_layout
    if asked not in cls.task_layouts:
        raise ConfigError(f"--task-layout {asked} does not fit the strategy '{concrete}', "
                          f"which runs as: {', '.join(cls.task_layouts)}.")
    return asked


def submit(science: Any, cfg: Any, root: Path, opts: SlurmOptions, *, dry_run: bool,
           check: bool, command: list[str], resume: rundir.RunDir | None = None) -> None:
    """Render, check and submit the job (or print it with --dry-run / test it with --check)."""
    from dte_cli.console import err

    site = sites.load(opts.site)
    target = opts.remote or site.remote
    host = Host(target, site.ssh_options)
    copies = 1 if resume else (opts.array or 1)
    if copies < 1:
        raise ConfigError(f"--array {opts.array} must be 1 or more.")
    if opts.array and resume:
        raise ConfigError("--array starts new runs; it cannot be combined with --resume.")
    nodes = opts.nodes or 1
    per_node = opts.gpus or site.gpus_per_node or opts.procs or 1
    layout = _layout(cfg.train.strategy, nodes, per_node, opts.task_layout)

    run_ids = [resume.run_id] if resume else _new_ids(copies)
    if target and not dry_run:
        workdir = host.home_path(site.remote_workdir)
    elif target:
        workdir = site.remote_workdir
    else:
        workdir = str(paths.project_dir())
    run_root = f"{workdir}/runs" if target else str(root)
    run_dirs = [f"{run_root}/{science.name}/{rid}" for rid in run_ids]
    env = [f"DTE_PROJECT_DIR={workdir}", *opts.env]
    if target is None:
        env.insert(1, f"DTE_RUNS_DIR={root}")
    job = slurm.build(
        site, job_name=opts.job_name or f"dte-{science.name}", run_dirs=run_dirs, nodes=opts.nodes,
        gpus=opts.gpus, procs=opts.procs, layout=layout, time=opts.time,
        partition=opts.partition, account=opts.account, qos=opts.qos, mem=opts.mem,
        cpus_per_task=opts.cpus_per_task, constraint=opts.constraint,
        container=opts.container, env=env, setup=opts.setup,
        array_limit=opts.array_limit, python="python3" if target else sys.executable)
    if opts.sync_code and target:
        # the site's setup lines can install or use the copied project from here
        job.env["DTE_CODE_DIR"] = f"{workdir}/code"
    script = slurm.render(job)
    if dry_run:
        print(script, end="")
        return
    if check:
        _test_only(host, script, workdir if target else None)
        return

    tracked = _tracked_files() if opts.sync_code and target else None
    if target:
        host.run(["true"])  # reach the login host before anything is written
    configs = _configs(cfg, copies) if not resume else [to_yaml(cfg)]
    local_runs: list[rundir.RunDir] = []
    for rid, yaml_text in zip(run_ids, configs, strict=True):
        if resume:
            run = resume
            run.config_path.write_text(yaml_text)
        else:
            run = rundir.create(root, science.name, yaml_text, run_id=rid, command=command,
                                backend="slurm", nodes=nodes, procs_per_node=per_node,
                                remote=target, remote_dir=run_dirs[len(local_runs)] if target
                                else None, tracking_uri=None if target else
                                paths.tracking_uri(cfg.tracking.uri))
        (run.path / "job.sbatch").write_text(script)
        local_runs.append(run)
    try:
        job_id = _send(host, job, local_runs, run_dirs, workdir, tracked)
    except BaseException:
        if not resume:  # never submitted: leave nothing behind
            for run in local_runs:
                shutil.rmtree(run.path, ignore_errors=True)
        raise
    for run in local_runs:
        run.update(status="submitted", job_id=job_id)
    jobs.record(jobs.JobRecord(job_id=job_id, science=science.name, run_dirs=run_dirs,
                               local_runs=[str(r.path) for r in local_runs], remote=target,
                               ssh_options=site.ssh_options, array=job.array))
    where = f" on {target}" if target else ""
    err().print(f"submitted job {job_id}{where}: {len(run_dirs)} run(s), first {run_ids[0]}")
    print(job_id)
    err().print(f"follow it with: dte jobs status {job_id}   dte jobs logs {job_id} -f")


def _send(host: Host, job: slurm.SlurmJob, local_runs: list[rundir.RunDir],
          run_dirs: list[str], workdir: str, tracked: list[str] | None) -> str:
    """Copy what the job needs to the login host (if remote) and sbatch it; the job id."""
    script_path = f"{run_dirs[0]}/job.sbatch"
    if host.target:
        for run, remote_dir in zip(local_runs, run_dirs, strict=True):
            host.put(remote_dir, {name: (run.path / name).read_bytes()
                                  for name in ("config.yaml", "run.json", "job.sbatch")})
        if tracked is not None:
            project = paths.project_dir()
            host.put(f"{workdir}/code", {n: (project / n).read_bytes() for n in tracked})
    out = host.text(["sbatch", "--parsable", f"--chdir={workdir}", script_path])
    return out.strip().split(";")[0]


def _new_ids(count: int) -> list[str]:
    base = rundir.new_run_id()
    return [base] if count == 1 else [f"{base}-a{i}" for i in range(count)]


def _configs(cfg: Any, count: int) -> list[str]:
    """One config per array task: the same, with train.seed offset by the task index."""
    if count == 1:
        return [to_yaml(cfg)]
    return [to_yaml(cfg.model_copy(update={"train": cfg.train.model_copy(
        update={"seed": cfg.train.seed + i})})) for i in range(count)]


def _test_only(host: Host, script: str, remote_dir: str | None) -> None:
    """`sbatch --test-only`: the scheduler's own verdict, without submitting."""
    from dte_cli.console import err

    if remote_dir is None:
        with tempfile.NamedTemporaryFile("w", suffix=".sbatch", delete=False) as handle:
            handle.write(script)
        path = handle.name
    else:
        path = f"{remote_dir}/.dte-check.sbatch"
        host.put(remote_dir, {".dte-check.sbatch": script.encode()})
    done = host.run(["sbatch", "--test-only", path], check=False)
    text = (done.stdout + done.stderr).decode(errors="replace").strip()
    if done.returncode != 0:
        raise ConfigError(f"sbatch --test-only rejected the job: {text}")
    err().print(f"sbatch --test-only: {text}")


def _tracked_files() -> list[str]:
    """The project's git-tracked files (what --sync-code copies)."""
    project = paths.project_dir()
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=project, capture_output=True)
    if listed.returncode != 0:
        raise ConfigError(f"--sync-code copies the files git tracks, but {project} is not a "
                          f"git repository. Run from the project's repository, or drop "
                          f"--sync-code.")
    return [n for n in listed.stdout.decode().split("\0") if n and (project / n).is_file()]
