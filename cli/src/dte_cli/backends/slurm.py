"""One resource request -> one checked sbatch script.

Layouts: `torchrun` (one task per node running dte_core.launch, which starts the node's workers
under torchrun with a c10d rendezvous on the first node, port derived from the job id) and
`per-task` (one task per worker: Horovod, native DeepSpeed). Every value that reaches the
script is one line (no control characters, `values.check_request`) and shell-quoted; only the
site's own setup lines (and --setup) are shell on purpose.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from dte_core.env import slurm_port_shell
from dte_core.errors import ConfigError

from dte_cli.backends.request import SlurmOptions, merged
from dte_cli.backends.sites import ContainerProfile, SiteProfile
from dte_cli.backends.values import check_request

TIME_FORMS = [
    (re.compile(r"^(\d+)$"), ("m",)),
    (re.compile(r"^(\d+):(\d{1,2})$"), ("m", "s")),
    (re.compile(r"^(\d+):(\d{1,2}):(\d{1,2})$"), ("h", "m", "s")),
    (re.compile(r"^(\d+)-(\d+)$"), ("d", "h")),
    (re.compile(r"^(\d+)-(\d+):(\d{1,2})$"), ("d", "h", "m")),
    (re.compile(r"^(\d+)-(\d+):(\d{1,2}):(\d{1,2})$"), ("d", "h", "m", "s")),
]
UNIT_S = {"d": 86400, "h": 3600, "m": 60, "s": 1}
MEM = re.compile(r"^\d+[KMGT]?$")
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def time_seconds(value: str) -> int:
    """Seconds in a SLURM time limit (`90`, `30:00`, `2:00:00`, `1-12`, `1-12:00:00`)."""
    for pattern, units in TIME_FORMS:
        match = pattern.match(value.strip())
        if match:
            return sum(int(n) * UNIT_S[u] for n, u in zip(match.groups(), units, strict=True))
    raise ConfigError(
        f"--time {value!r} is not a SLURM time limit. Use minutes (`90`), `MM:SS`, `HH:MM:SS`, "
        f"`D-HH`, `D-HH:MM` or `D-HH:MM:SS` (for example --time 02:00:00)."
    )


def format_time(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


@dataclass
class SlurmJob:
    """Everything the sbatch script needs, already checked."""

    job_name: str
    run_dirs: list[str]
    nodes: int = 1
    procs_per_node: int = 1
    gpus_per_node: int = 0
    layout: str = "torchrun"
    cpus_per_task: int = 1
    time: str = "01:00:00"
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    mem: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    modules: list[str] = field(default_factory=list)
    setup: list[str] = field(default_factory=list)
    container: ContainerProfile | None = None
    network_interface: str | None = None
    python: str = "python3"
    signal_grace_s: int = 120
    max_requeues: int = 3
    array_limit: int | None = None
    generator: str = "dte"
    #: run this command in each task instead of a training run's launcher (tune workers)
    command: list[str] | None = None

    @property
    def array(self) -> str | None:
        if len(self.run_dirs) == 1:
            return None
        spec = f"0-{len(self.run_dirs) - 1}"
        return f"{spec}%{self.array_limit}" if self.array_limit else spec


def build(site: SiteProfile, opts: SlurmOptions, *, job_name: str, run_dirs: list[str],
          layout: str, python: str = "python3") -> SlurmJob:
    """Merge the request over the site profile and check it; errors name the fix.

    `job_name` is the name used without --job-name; `python` without a site's `python`.
    """
    check_request(site, opts)
    req = merged(site, opts)
    nodes = 1 if req.nodes is None else req.nodes
    if nodes < 1:
        raise ConfigError(f"--nodes {nodes} is not a number of nodes: use 1 or more.")
    gpus_per_node, procs = req.gpus or 0, req.procs
    if gpus_per_node < 0:
        raise ConfigError(f"--gpus {gpus_per_node} is not a number of GPUs: use 0 or more.")
    if procs is not None and procs < 1:
        raise ConfigError(f"--procs {procs} is not a number of processes: use 1 or more.")
    if procs is not None and gpus_per_node and procs != gpus_per_node:
        raise ConfigError(
            f"--procs {procs} and --gpus {gpus_per_node} disagree: with GPUs, dte starts one "
            f"worker per GPU. Drop --procs, or use --gpus {procs}."
        )
    if layout not in ("torchrun", "per-task"):
        raise ConfigError(f"Unknown task layout {layout!r}.")
    seconds = time_seconds(req.time or "")
    partition = req.partition
    if site.partitions:
        if partition is None or partition not in site.partitions:
            raise ConfigError(
                f"Partition {partition!r} is not one of the site '{site.name}''s partitions: "
                f"{', '.join(site.partitions)}. Choose one with --partition."
            )
        limits = site.partitions[partition]
        if limits.max_time and seconds > time_seconds(limits.max_time):
            raise ConfigError(f"--time {format_time(seconds)} exceeds partition '{partition}''s "
                              f"limit of {limits.max_time}; ask for less or another partition.")
        if limits.max_nodes and nodes > limits.max_nodes:
            raise ConfigError(f"--nodes {nodes} exceeds partition '{partition}''s limit of "
                              f"{limits.max_nodes} nodes.")
        if limits.gpus_per_node is not None and gpus_per_node > limits.gpus_per_node:
            raise ConfigError(f"--gpus {gpus_per_node} per node exceeds partition "
                              f"'{partition}''s {limits.gpus_per_node} GPUs per node.")
    if req.mem is not None and not MEM.match(req.mem):
        raise ConfigError(f"--mem {req.mem!r} is not a SLURM memory size: use e.g. 64G or 500M.")
    variables = {}
    for item in req.env:
        key, sep, value = item.partition("=")
        if not sep or not ENV_KEY.match(key):
            raise ConfigError(f"--env {item!r} must be NAME=VALUE with NAME a valid variable "
                              f"name (letters, digits, _); so must a site profile's `env`.")
        variables[key] = value
    profile = None
    if req.container:
        profile = (site.container or ContainerProfile()).model_copy(
            update={"image": req.container})
    cpus = req.cpus_per_task if req.cpus_per_task is not None else (
        req.per_node if layout == "torchrun" else 1)
    if cpus < 1:
        raise ConfigError(f"--cpus-per-task {cpus} must be 1 or more.")
    if seconds <= site.signal_grace_s:
        raise ConfigError(
            f"--time {format_time(seconds)} is not longer than the site's checkpoint grace of "
            f"{site.signal_grace_s} s (signal_grace_s): the job would be told to stop at once. "
            f"Ask for more time."
        )
    return SlurmJob(
        job_name=req.job_name or job_name, run_dirs=run_dirs, nodes=nodes,
        procs_per_node=req.per_node, gpus_per_node=gpus_per_node, layout=layout,
        cpus_per_task=cpus, time=format_time(seconds), partition=partition,
        account=req.account, qos=req.qos, constraint=req.constraint, mem=req.mem,
        env=variables, modules=list(site.modules), setup=req.setup, container=profile,
        network_interface=site.network_interface, python=site.python or python,
        signal_grace_s=site.signal_grace_s, max_requeues=site.max_requeues,
        array_limit=req.array_limit,
    )


def _container_prefix(job: SlurmJob) -> list[str]:
    c = job.container
    if c is None:
        return []
    q = shlex.quote
    if c.runtime in ("apptainer", "singularity"):
        parts = [c.runtime, "exec", *(["--nv"] if job.gpus_per_node else [])]
        parts += [f"--bind {q(b)}" for b in c.binds] + [q(o) for o in c.options]
        return [*parts, q(c.image)]
    if c.runtime in ("podman", "docker"):
        parts = [c.runtime, "run", "--rm", "--network=host", "--ipc=host",
                 '-v "$PWD:$PWD"', '-w "$PWD"', '-v "$RUN_DIR:$RUN_DIR"']
        parts += [f"-v {q(b if ':' in b else b + ':' + b)}" for b in c.binds]
        parts += [f"-e {name}" for name in ("MASTER_ADDR", "MASTER_PORT", "SLURM_JOB_ID",
                                            "SLURM_PROCID", "SLURM_NODEID", "SLURM_LOCALID",
                                            "SLURM_NTASKS", "SLURM_JOB_NODELIST")]
        parts += [q(o) for o in c.options]
        return [*parts, q(c.image)]
    return ["ch-run", *[q(o) for o in c.options], q(c.image), "--"]


def render(job: SlurmJob) -> str:
    """The sbatch script for `job`."""
    q = shlex.quote
    directives = [
        f"--job-name={q(job.job_name)}",
        f"--nodes={job.nodes}",
        f"--ntasks-per-node={1 if job.layout == 'torchrun' else job.procs_per_node}",
        f"--cpus-per-task={job.cpus_per_task}",
        f"--time={job.time}",
    ]
    if job.gpus_per_node:
        directives.append(f"--gpus-per-node={job.gpus_per_node}")
    for flag, value in (("partition", job.partition), ("account", job.account),
                        ("qos", job.qos), ("constraint", job.constraint), ("mem", job.mem)):
        if value:
            directives.append(f"--{flag}={q(value)}")
    if job.array:
        directives.append(f"--array={job.array}")
    first = job.run_dirs[0]
    log_dir = first if len(job.run_dirs) == 1 else first.rsplit("/", 1)[0]
    pattern = "slurm-%j.out" if len(job.run_dirs) == 1 else "slurm-%A_%a.out"
    directives += [f"--output={q(log_dir + '/' + pattern)}", "--open-mode=append",
                   f"--signal=B:USR1@{job.signal_grace_s}", "--requeue"]

    lines = ["#!/bin/bash",
             f"# Generated by {job.generator}: checkpoint-aware job (SIGUSR1 before the time "
             f"limit -> checkpoint -> requeue -> resume).",
             *[f"#SBATCH {d}" for d in directives], "", "set -uo pipefail", ""]
    if len(job.run_dirs) == 1:
        lines.append(f"RUN_DIR={q(first)}")
    else:
        lines.append("RUN_DIRS=(" + " ".join(q(d) for d in job.run_dirs) + ")")
        lines.append('RUN_DIR="${RUN_DIRS[$SLURM_ARRAY_TASK_ID]}"')
    lines += [f"MAX_REQUEUES={job.max_requeues}", ""]
    if job.modules:
        lines += ["# site modules", *[f"module load {q(m)}" for m in job.modules], ""]
    if job.setup:
        lines += ["# site and --setup lines (shell, as written)", *job.setup, ""]
    exports = dict(job.env)
    if job.network_interface:
        exports.setdefault("NCCL_SOCKET_IFNAME", job.network_interface)
        exports.setdefault("GLOO_SOCKET_IFNAME", job.network_interface)
    if exports:
        lines += [f"export {k}={q(v)}" for k, v in exports.items()] + [""]
    lines += [
        "# rendezvous on the first node; the port follows the job id so jobs sharing a node",
        "# do not collide",
        'MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
        f"MASTER_PORT={slurm_port_shell()}",
        "export MASTER_ADDR MASTER_PORT",
        "",
        "# The batch shell (outside any container) turns signals into a checkpoint: SIGUSR1",
        "# (time limit near) and SIGTERM (preemption) reach the workers, which checkpoint and",
        "# exit 75; after a time limit the job requeues itself and resumes from the checkpoint.",
        'reason=""',
        "forward() {",
        '    [ -n "$reason" ] && return',
        '    reason=$1',
        '    echo "[dte] $1 at $(date -Is): asking the workers to checkpoint" >&2',
        '    [ -n "${step_pid:-}" ] && kill "-$2" "$step_pid" 2>/dev/null',
        "}",
        "trap 'forward time_limit USR1' USR1",
        "trap 'forward preempted TERM' TERM",
        "",
        'event() {  # one JSON line per job event, counted by `dte jobs status`',
        "    local fmt='{\"time\": \"%s\", \"job\": \"%s\", \"restart\": %s, "
        "\"event\": \"%s\", \"exit\": %s}\\n'",
        '    printf "$fmt" "$(date -Is)" "$SLURM_JOB_ID" "${SLURM_RESTART_COUNT:-0}" "$1" "$2" \\',
        '        >> "$RUN_DIR/slurm-events.jsonl"',
        "}",
        'event started 0',
        "",
    ]
    prefix = _container_prefix(job)
    if job.command is not None:
        worker = [*prefix, *(q(c) for c in job.command)]
        srun = ["srun", "--ntasks-per-node=1", "--kill-on-bad-exit=1"]
    elif job.layout == "torchrun":
        worker = [*prefix, q(job.python), "-m", "dte_core.launch", '"$RUN_DIR"',
                  "--nnodes", '"$SLURM_JOB_NUM_NODES"', "--nproc-per-node",
                  str(job.procs_per_node), "--rdzv", '"$MASTER_ADDR:$MASTER_PORT"',
                  "--rdzv-id", '"$SLURM_JOB_ID"']
        srun = ["srun", "--ntasks-per-node=1", "--kill-on-bad-exit=1"]
    else:
        worker = [*prefix, q(job.python), "-m", "dte_core.worker", '"$RUN_DIR"',
                  "--checkpoint", "latest"]
        srun = ["srun", f"--ntasks-per-node={job.procs_per_node}", "--kill-on-bad-exit=1"]
    lines += [
        " ".join([*srun, *worker]) + " &",
        "step_pid=$!",
        "# `wait` returns early when a trapped signal arrives: wait until the step has ended",
        'while wait "$step_pid"; status=$?; kill -0 "$step_pid" 2>/dev/null; do :; done',
        "",
        'if [ "$reason" = time_limit ]; then',
        '    event time_limit "$status"',
        '    if [ "${SLURM_RESTART_COUNT:-0}" -lt "$MAX_REQUEUES" ]; then',
        '        echo "[dte] requeueing job $SLURM_JOB_ID to resume from its checkpoint" >&2',
        '        scontrol requeue "$SLURM_JOB_ID"',
        "        exit 0",
        "    fi",
        '    echo "[dte] $MAX_REQUEUES requeues done; not requeueing again" >&2',
        'elif [ -n "$reason" ]; then',
        '    event "$reason" "$status"',
        "else",
        '    event finished "$status"',
        "fi",
        'exit "$status"',
    ]
    return "\n".join(lines) + "\n"
