"""Submit to SLURM, here or on a login host over ssh, and record the job: one path for
training runs (`submit`) and tune workers (`submit_workers`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dte_core import paths, rundir
from dte_core.config import to_yaml
from dte_core.errors import ConfigError

from dte_cli.backends import jobs, sites, slurm
from dte_cli.backends.hosts import Host
from dte_cli.backends.request import SlurmOptions, merged
from dte_cli.backends.values import check_request


@dataclass
class Target:
    """Where jobs go: this host or a login host over ssh, and the work directory there."""

    site: sites.SiteProfile
    host: Host
    workdir: str

    @property
    def remote(self) -> str | None:
        return self.host.target

    @property
    def python(self) -> str:
        """The compute nodes' Python when the site does not name one."""
        return "python3" if self.remote else sys.executable


def target(opts: SlurmOptions, *, dry_run: bool) -> Target:
    """The site profile, the host that runs sbatch (--remote, else the site's `remote`, else
    this one) and the job's work directory (asked of the login host unless `dry_run`)."""
    site = sites.load(opts.site)
    check_request(site, opts)
    host = Host(merged(site, opts).remote, site.ssh_options)
    if host.target and not dry_run:
        workdir = host.home_path(site.remote_workdir)
    elif host.target:
        workdir = site.remote_workdir
    else:
        workdir = str(paths.project_dir())
    return Target(site, host, workdir)


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
           command: list[str], resume: rundir.RunDir | None = None) -> None:
    """Submit a training run (or --array N runs) as one job; --dry-run prints it, --check
    tests it."""
    from dte_cli.console import err

    to = target(opts, dry_run=dry_run)
    copies = 1 if resume or opts.array is None else opts.array
    if copies < 1:
        raise ConfigError(f"--array {opts.array} must be 1 or more.")
    if opts.array and resume:
        raise ConfigError("--array starts new runs; it cannot be combined with --resume.")
    req = merged(to.site, opts)
    nodes = req.nodes or 1
    layout = _layout(cfg.train.strategy, nodes, req.per_node, opts.task_layout)

    run_ids = [resume.run_id] if resume else _new_ids(copies)
    run_root = f"{to.workdir}/runs" if to.remote else str(root)
    run_dirs = [f"{run_root}/{science.name}/{rid}" for rid in run_ids]
    env = [f"DTE_PROJECT_DIR={to.workdir}", *([] if to.remote else [f"DTE_RUNS_DIR={root}"]),
           *opts.env]
    job = slurm.build(to.site, replace(opts, env=env), job_name=f"dte-{science.name}",
                      run_dirs=run_dirs, layout=layout, python=to.python)
    script = _script(to, job, opts, dry_run)
    if script is None:
        return
    tracked = _reach(to, opts)
    configs = _configs(cfg, copies) if not resume else [to_yaml(cfg)]
    local_runs: list[rundir.RunDir] = []
    for rid, yaml_text in zip(run_ids, configs, strict=True):
        if resume:
            run = resume
            run.config_path.write_text(yaml_text)
        else:
            run = rundir.create(root, science.name, yaml_text, run_id=rid, command=command,
                                backend="slurm", nodes=nodes, procs_per_node=req.per_node,
                                remote=to.remote, remote_dir=run_dirs[len(local_runs)]
                                if to.remote else None, tracking_uri=None if to.remote else
                                paths.tracking_uri(cfg.tracking.uri))
        (run.path / "job.sbatch").write_text(script)
        local_runs.append(run)
    uploads = {remote_dir: {name: (run.path / name).read_bytes()
                            for name in ("config.yaml", "run.json", "job.sbatch")}
               for run, remote_dir in zip(local_runs, run_dirs, strict=True)}
    try:
        job_id = _send(to, f"{run_dirs[0]}/job.sbatch", uploads, tracked)
    except BaseException:
        if not resume:  # never submitted: leave nothing behind
            for run in local_runs:
                shutil.rmtree(run.path, ignore_errors=True)
        raise
    for run in local_runs:
        run.update(status="submitted", job_id=job_id)
    _record(to, job, job_id, science.name, run_dirs, [str(r.path) for r in local_runs])
    where = f" on {to.remote}" if to.remote else ""
    err().print(f"submitted job {job_id}{where}: {len(run_dirs)} run(s), first {run_ids[0]}")
    print(job_id)
    err().print(f"follow it with: dte jobs status {job_id}   dte jobs logs {job_id} -f")


def worker_job(site: sites.SiteProfile, opts: SlurmOptions, *, study: str, folder: str,
               workers: int, worker_args: list[str], python: str) -> slurm.SlurmJob:
    """WORKERS tune workers as one array job: task i is worker i (its --index is the array
    task id); one process each, with one GPU where the site has GPUs."""
    gpus = min(1, merged(site, opts).gpus or 0)
    job = slurm.build(site, replace(opts, nodes=1, procs=1, gpus=gpus),
                      job_name=f"dte-tune-{study}", run_dirs=[folder] * workers,
                      layout="torchrun", python=python)
    job.command = [job.python, "-m", "dte_core.hpo.worker", *worker_args]
    return job


def submit_workers(science: str, study: str, worker_args: list[str], workers: int,
                   opts: SlurmOptions, *, dry_run: bool) -> None:
    """Submit a study's tune workers (`worker_job`); --dry-run prints it, --check tests it."""
    from dte_core.hpo.study import hpo_dir

    from dte_cli.console import err

    to = target(opts, dry_run=dry_run)
    folder = f"{to.workdir}/.dte/hpo/{study}" if to.remote else str(hpo_dir(study))
    job = worker_job(to.site, replace(opts, env=[f"DTE_PROJECT_DIR={to.workdir}", *opts.env]),
                     study=study, folder=folder, workers=workers, worker_args=worker_args,
                     python=to.python)
    script = _script(to, job, opts, dry_run)
    if script is None:
        return
    tracked = _reach(to, opts)
    if not to.remote:
        Path(folder).mkdir(parents=True, exist_ok=True)
        Path(folder, "workers.sbatch").write_text(script)
    job_id = _send(to, f"{folder}/workers.sbatch",
                   {folder: {"workers.sbatch": script.encode()}}, tracked)
    _record(to, job, job_id, science, [folder], [])
    where = f" on {to.remote}" if to.remote else ""
    print(job_id)
    err().print(f"submitted {workers} tune worker(s) as array job {job_id}{where}; follow "
                f"with `dte tune status {study}`")


def _script(to: Target, job: slurm.SlurmJob, opts: SlurmOptions, dry_run: bool) -> str | None:
    """The job's script, or None once --dry-run has printed it or --check has tested it."""
    if opts.sync_code and to.remote:
        # the site's setup lines can install or use the copied project from here
        job.env["DTE_CODE_DIR"] = f"{to.workdir}/code"
    script = slurm.render(job)
    if dry_run:
        print(script, end="")
        return None
    if opts.check:
        _test_only(to.host, script, to.workdir if to.remote else None)
        return None
    return script


def _reach(to: Target, opts: SlurmOptions) -> list[str] | None:
    """The files --sync-code copies, once the login host (if any) has answered."""
    tracked = _tracked_files() if opts.sync_code and to.remote else None
    if to.remote:
        to.host.run(["true"])  # reach the login host before anything is written
    return tracked


def _send(to: Target, script_path: str, uploads: dict[str, dict[str, bytes]],
          tracked: list[str] | None) -> str:
    """Copy what the job needs to the login host (if remote) and sbatch it; the job id."""
    if to.remote:
        for directory, files in uploads.items():
            to.host.put(directory, files)
        if tracked is not None:
            project = paths.project_dir()
            to.host.put(f"{to.workdir}/code", {n: (project / n).read_bytes() for n in tracked})
    out = to.host.text(["sbatch", "--parsable", f"--chdir={to.workdir}", script_path])
    return out.strip().split(";")[0]


def _record(to: Target, job: slurm.SlurmJob, job_id: str, science: str, run_dirs: list[str],
            local_runs: list[str]) -> None:
    jobs.record(jobs.JobRecord(job_id=job_id, science=science, run_dirs=run_dirs,
                               local_runs=local_runs, remote=to.remote,
                               ssh_options=to.site.ssh_options, array=job.array))


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
