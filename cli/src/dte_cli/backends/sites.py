"""Site profiles: a cluster's defaults (partition, account, setup, container, limits).

Profiles come from `~/.config/dte/sites/<name>.toml` (one site per file, `$XDG_CONFIG_HOME`
respected) and from the project's `dte.toml` (`[sites.<name>]` tables, `default_site = "..."`);
the project's definition of a name wins. `--site NAME` or `$DTE_SITE` chooses one.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from dte_core.errors import ConfigError
from dte_core.schemas import StrictModel
from pydantic import Field, ValidationError


class ContainerProfile(StrictModel):
    """How workers run inside a container image."""

    runtime: Literal["apptainer", "singularity", "podman", "docker", "charliecloud"] = \
        "apptainer"
    """The container runtime on the compute nodes."""
    image: str | None = None
    """Image (a .sif path or a registry reference); --container overrides it."""
    binds: list[str] = []
    """Host paths to bind into the container (`/scratch`, `/data:/data:ro`)."""
    options: list[str] = []
    """Extra runtime options (e.g. `--nv` is added for GPUs with apptainer)."""


class PartitionLimits(StrictModel):
    """What one partition allows, for checks before submission."""

    max_time: str | None = None
    """Longest time limit (SLURM format)."""
    max_nodes: int | None = Field(None, ge=1)
    """Most nodes per job."""
    gpus_per_node: int | None = Field(None, ge=0)
    """GPUs on each node of the partition."""


class SiteProfile(StrictModel):
    """Defaults of one cluster; every field can be overridden on the command line."""

    name: str = "default"
    """Profile name (the file name or the [sites.NAME] table)."""
    description: str = ""
    """A line about the site."""
    partition: str | None = None
    """Default partition."""
    account: str | None = None
    """Account to charge."""
    qos: str | None = None
    """Quality of service."""
    constraint: str | None = None
    """Node features (--constraint)."""
    time: str = "01:00:00"
    """Default time limit."""
    gpus_per_node: int = Field(0, ge=0)
    """GPUs per node to ask for by default."""
    cpus_per_task: int | None = Field(None, ge=1)
    """CPUs per task (default: enough for the workers on a node)."""
    mem: str | None = None
    """Memory per node (`64G`)."""
    modules: list[str] = []
    """Environment modules loaded before the job (`module load NAME`)."""
    setup: list[str] = []
    """Shell lines run before the job (activate an environment, ...)."""
    env: dict[str, str] = {}
    """Environment variables exported in the job."""
    network_interface: str | None = None
    """Interface for NCCL and gloo traffic (sets NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME)."""
    container: ContainerProfile | None = None
    """Run the workers in a container."""
    partitions: dict[str, PartitionLimits] = {}
    """Known partitions and their limits (unknown partitions are refused when listed)."""
    python: str | None = None
    """Python with dte installed, as seen on the compute nodes (default: the one running
    `dte` for local submission, `python3` on a remote login host)."""
    remote: str | None = None
    """`user@login-host` to submit through ssh (--remote overrides)."""
    remote_workdir: str = "dte-work"
    """Work directory on the remote login host (relative paths are under $HOME)."""
    ssh_options: list[str] = []
    """Extra ssh options (`-p 2222`, `-i KEY`, `-F CONFIG`)."""
    signal_grace_s: int = Field(120, ge=10)
    """Seconds before the time limit at which workers are told to checkpoint."""
    max_requeues: int = Field(3, ge=0)
    """Requeues after time limits before a job gives up."""


def user_sites_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "dte" / "sites"


def project_file() -> Path:
    from dte_core.paths import project_dir

    return project_dir() / "dte.toml"


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The site file '{path}' is not valid TOML: {exc}. Fix it there.") \
            from None


def raw_profiles() -> dict[str, tuple[dict, Path]]:
    """Every profile's table and the file it came from, by name."""
    found: dict[str, tuple[dict, Path]] = {}
    folder = user_sites_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.toml")):
            found[path.stem] = (_read_toml(path), path)
    project = project_file()
    if project.is_file():
        for name, table in _read_toml(project).get("sites", {}).items():
            found[name] = (table, project)
    return found


def default_site_name() -> str | None:
    """$DTE_SITE, else `default_site` of the project's dte.toml."""
    if os.environ.get("DTE_SITE"):
        return os.environ["DTE_SITE"]
    project = project_file()
    return _read_toml(project).get("default_site") if project.is_file() else None


def load(name: str | None) -> SiteProfile:
    """The named profile (or the default one, or built-in defaults when none is set)."""
    name = name or default_site_name()
    if name is None:
        return SiteProfile()
    profiles = raw_profiles()
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(
            f"Unknown site profile '{name}'. Known profiles: {known}. Add one as "
            f"{user_sites_dir() / (name + '.toml')} or a [sites.{name}] table in "
            f"{project_file()}; `dte sites list` shows what is found."
        )
    table, path = profiles[name]
    try:
        return SiteProfile.model_validate({"name": name, **table})
    except ValidationError as exc:
        from dte_core.config import validation_message

        raise ConfigError(f"Site profile '{name}' in {path}: "
                          + validation_message(SiteProfile, exc, {})) from None
