"""Where this process runs: the one place that reads torchrun, SLURM and MPI variables."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

from dte_core.errors import ConfigError

Launcher = Literal["torchrun", "horovod", "slurm", "mpi", "none"]

# Variables recorded in every run's manifest, so a run can be traced back to its launch.
RECORDED_PREFIXES = ("SLURM_", "TORCHELASTIC_", "OMPI_COMM_WORLD_", "PMI_", "PMIX_",
                     "HOROVOD_")
RECORDED_NAMES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK",
                  "MASTER_ADDR", "MASTER_PORT", "CUDA_VISIBLE_DEVICES")
# SLURM jobs rendezvous on PORT_BASE + job id % PORT_SPAN: the one rule, followed by
# `slurm_port` here and, through `slurm_port_shell`, by the sbatch script dte renders.
PORT_BASE = 20000
PORT_SPAN = 20000


@dataclass(frozen=True)
class ClusterEnv:
    """Rank layout of this process and how it was launched."""

    launcher: Launcher
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    local_world_size: int = 1
    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int = 29500

    @property
    def distributed(self) -> bool:
        """Whether several processes take part."""
        return self.world_size > 1

    @property
    def is_global_zero(self) -> bool:
        """Whether this is rank 0, the one that logs and writes shared files."""
        return self.rank == 0

    def as_dict(self) -> dict[str, object]:
        """Plain data for manifests."""
        return asdict(self)


def _int(environ: Mapping[str, str], *names: str, default: int) -> int:
    for name in names:
        if environ.get(name, "").strip().lstrip("-").isdigit():
            return int(environ[name])
    return default


def detect(environ: Mapping[str, str] | None = None) -> ClusterEnv:
    """Read the launcher's variables: torchrun first, then SLURM (srun tasks), then MPI."""
    env = os.environ if environ is None else environ
    if "TORCHELASTIC_RUN_ID" in env or ("RANK" in env and "WORLD_SIZE" in env):
        return ClusterEnv(
            launcher="torchrun",
            rank=_int(env, "RANK", default=0),
            local_rank=_int(env, "LOCAL_RANK", default=0),
            world_size=_int(env, "WORLD_SIZE", default=1),
            local_world_size=_int(env, "LOCAL_WORLD_SIZE", default=1),
            node_rank=_int(env, "GROUP_RANK", "SLURM_NODEID", default=0),
            master_addr=env.get("MASTER_ADDR", "127.0.0.1"),
            master_port=_int(env, "MASTER_PORT", default=29500),
        )
    if "HOROVOD_RANK" in env and "HOROVOD_SIZE" in env:  # horovodrun (gloo controller)
        return ClusterEnv(
            launcher="horovod",
            rank=_int(env, "HOROVOD_RANK", default=0),
            local_rank=_int(env, "HOROVOD_LOCAL_RANK", default=0),
            world_size=_int(env, "HOROVOD_SIZE", default=1),
            local_world_size=_int(env, "HOROVOD_LOCAL_SIZE", default=1),
            node_rank=_int(env, "HOROVOD_CROSS_RANK", default=0),
            master_addr=env.get("HOROVOD_GLOO_RENDEZVOUS_ADDR", "127.0.0.1"),
            master_port=_int(env, "HOROVOD_GLOO_RENDEZVOUS_PORT", default=29500),
        )
    if "SLURM_PROCID" in env and _int(env, "SLURM_NTASKS", default=1) > 1:
        return ClusterEnv(
            launcher="slurm",
            rank=_int(env, "SLURM_PROCID", default=0),
            local_rank=_int(env, "SLURM_LOCALID", default=0),
            world_size=_int(env, "SLURM_NTASKS", default=1),
            local_world_size=_int(env, "SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE",
                                  default=1),
            node_rank=_int(env, "SLURM_NODEID", default=0),
            master_addr=env.get("MASTER_ADDR") or first_slurm_host(env),
            master_port=_int(env, "MASTER_PORT", default=slurm_port(env)),
        )
    if "OMPI_COMM_WORLD_SIZE" in env or "PMI_SIZE" in env:
        return ClusterEnv(
            launcher="mpi",
            rank=_int(env, "OMPI_COMM_WORLD_RANK", "PMI_RANK", default=0),
            local_rank=_int(env, "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", default=0),
            world_size=_int(env, "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", default=1),
            local_world_size=_int(env, "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS",
                                  default=1),
            master_addr=env.get("MASTER_ADDR", "127.0.0.1"),
            master_port=_int(env, "MASTER_PORT", default=29500),
        )
    return ClusterEnv(launcher="none")


def first_slurm_host(environ: Mapping[str, str]) -> str:
    """The first host of the job's node list, else this host."""
    nodes = environ.get("SLURM_JOB_NODELIST") or environ.get("SLURM_NODELIST") or ""
    hosts = expand_hostlist(nodes)
    return hosts[0] if hosts else socket.gethostname()


def expand_hostlist(text: str) -> list[str]:
    """SLURM's compressed host list (`gpu[01-03,07],login1`, `r[1-2]n[1-2]`) as names, in order."""
    hosts: list[str] = []
    for item in _split_top(text):
        hosts.extend(_expand_one(item, text))
    return hosts


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char == "[") - (char == "]")
        if depth not in (0, 1):
            raise _bad_hostlist(text)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise _bad_hostlist(text)
    return [p.strip() for p in [*parts, text[start:]] if p.strip()]


def _expand_one(item: str, whole: str) -> list[str]:
    """One `prefix[ranges]suffix` item; later bracket groups vary fastest."""
    head, bracket, rest = item.partition("[")
    if not bracket:
        return [item]
    body, _, tail = rest.partition("]")
    names = []
    for piece in body.split(","):
        lo, dash, hi = (part.strip() for part in piece.partition("-"))
        hi = hi if dash else lo
        if not (lo.isdigit() and hi.isdigit()) or int(hi) < int(lo):
            raise _bad_hostlist(whole)
        for number in range(int(lo), int(hi) + 1):  # zero padding follows the lower bound
            names.extend(_expand_one(f"{head}{number:0{len(lo)}d}{tail}", whole))
    return names


def _bad_hostlist(text: str) -> ConfigError:
    return ConfigError(f"The SLURM node list {text!r} is not in SLURM's form (`node[01-04,07],"
                       f"login1`: names, each with optional bracketed number ranges). Unset "
                       f"SLURM_JOB_NODELIST and SLURM_NODELIST, or launch under srun, which "
                       f"sets them.")


def tasks_per_node(text: str) -> list[int]:
    """SLURM_TASKS_PER_NODE (`2(x3),1`) as one count per node."""
    counts = []
    for part in text.split(","):
        count, times, repeat = part.strip().partition("(x")
        repeat = repeat.removesuffix(")") if times else "1"
        if not (count.isdigit() and repeat.isdigit()):
            raise ConfigError(f"SLURM_TASKS_PER_NODE={text!r} is not in SLURM's form (`2(x3),1`:"
                              f" counts, each optionally repeated). Unset it, or launch under "
                              f"srun, which sets it.")
        counts += [int(count)] * int(repeat)
    return counts


def slurm_port(environ: Mapping[str, str]) -> int:
    """A rendezvous port derived from the job id, so concurrent jobs on a node do not clash."""
    return PORT_BASE + _int(environ, "SLURM_JOB_ID", default=0) % PORT_SPAN


def slurm_port_shell() -> str:
    """`slurm_port` as bash arithmetic, for the sbatch script (which runs before any Python)."""
    return f"$(( {PORT_BASE} + SLURM_JOB_ID % {PORT_SPAN} ))"


def recorded_variables(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Launcher variables worth keeping in a run's manifest."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in sorted(env.items())
            if k in RECORDED_NAMES or k.startswith(RECORDED_PREFIXES)}
