"""The SLURM resource request, declared once.

Each flag field of `SlurmOptions` carries its help; the typer options of `dte train`, `dte tune`
and `dte scale` (in the help panel "SLURM"), the flags handed on to `dte train`, and the merge
over a site profile are all derived from these fields.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

from dte_core.errors import ConfigError

if TYPE_CHECKING:
    from dte_cli.backends.sites import SiteProfile

PANEL = "SLURM"


def _flag(help_text: str, default: Any = None) -> Any:
    """A field that is also the command-line flag `--field-name`."""
    if default is list:
        return field(default_factory=list, metadata={"help": help_text})
    return field(default=default, metadata={"help": help_text})


@dataclass
class SlurmOptions:
    """One SLURM resource request (None: the site profile's value; see `merged`)."""

    nodes: int | None = _flag("Nodes.")
    time: str | None = _flag("Time limit of each job (HH:MM:SS, D-HH:MM, minutes).")
    partition: str | None = _flag("Partition.")
    account: str | None = _flag("Account.")
    qos: str | None = _flag("QOS.")
    mem: str | None = _flag("Memory per node (64G).")
    cpus_per_task: int | None = _flag("CPUs per task.")
    constraint: str | None = _flag("Node features.")
    container: str | None = _flag("Run the workers in this image.")
    env: list[str] = _flag("NAME=VALUE exported in the job (repeatable).", list)
    setup: list[str] = _flag("Shell line run before the workers (repeatable).", list)
    site: str | None = _flag("Site profile (default: $DTE_SITE or dte.toml's default_site).")
    remote: str | None = _flag("Submit on user@login-host through ssh.")
    sync_code: bool = _flag("Also copy the project's git-tracked files to the remote work "
                            "directory (as $DTE_CODE_DIR).", False)
    array: int | None = _flag("N independent runs as one array job (seeds seed..seed+N-1).")
    job_name: str | None = _flag("Job name (default: dte-SCIENCE, for tune dte-tune-STUDY).")
    task_layout: str | None = _flag("torchrun (one launcher per node) or per-task (one srun "
                                    "task per worker); default: the strategy's own.")
    check: bool = _flag("Ask the scheduler (sbatch --test-only); submit nothing.", False)
    # set by the command from its own options, not SLURM flags
    gpus: int | None = None
    procs: int | None = None
    array_limit: int | None = None

    def given(self) -> list[str]:
        """The SLURM flags that were set, as written on the command line."""
        return [_name(f) for f in _flag_fields() if _given(getattr(self, f.name))]

    def argv(self) -> list[str]:
        """The SLURM flags that were set, as arguments for another `dte` command."""
        args: list[str] = []
        for f in _flag_fields():
            value = getattr(self, f.name)
            if value is True:
                args.append(_name(f))
            elif isinstance(value, list):
                args += [a for item in value for a in (_name(f), item)]
            elif _given(value):
                args += [_name(f), str(value)]
        return args

    @property
    def per_node(self) -> int:
        """Workers per node: one per GPU, else the processes asked for."""
        return self.gpus or self.procs or 1


def merged(site: SiteProfile, opts: SlurmOptions) -> SlurmOptions:
    """The command line's values over the site profile's defaults: the one place they meet."""
    return replace(
        opts, time=opts.time or site.time, partition=opts.partition or site.partition,
        account=opts.account or site.account, qos=opts.qos or site.qos,
        constraint=opts.constraint or site.constraint, mem=opts.mem or site.mem,
        cpus_per_task=site.cpus_per_task if opts.cpus_per_task is None else opts.cpus_per_task,
        gpus=site.gpus_per_node if opts.gpus is None else opts.gpus,
        container=opts.container or (site.container.image if site.container else None),
        env=[*(f"{k}={v}" for k, v in site.env.items()), *opts.env],
        setup=[*site.setup, *opts.setup], remote=opts.remote or site.remote)


def only_with_slurm(backend: str, opts: SlurmOptions, also: Iterable[str] = ()) -> None:
    """Refuse SLURM flags (and the command's own ones, `also`) without --backend slurm."""
    given = [*opts.given(), *also]
    if backend != "slurm" and given:
        verb = "apply" if len(given) > 1 else "applies"
        raise ConfigError(f"{', '.join(given)} only {verb} to batch jobs: add --backend slurm.")


def slurm_options(omit: Iterable[str] = ()) -> Callable[[Callable], Callable]:
    """Replace a command's `slurm: SlurmOptions` parameter by one typer option per flag field.

    `omit` names fields that do not fit the command; they keep their defaults.
    """
    import typer

    chosen = [f for f in _flag_fields() if f.name not in set(omit)]
    hints = get_type_hints(SlurmOptions)
    derived = []
    for f in chosen:
        kind = list[str] | None if f.default_factory is list else hints[f.name]
        option = typer.Option(_name(f), help=f.metadata["help"], rich_help_panel=PANEL,
                              show_default=False)
        derived.append(inspect.Parameter(
            f"slurm_{f.name}", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[kind, option],
            default=None if f.default is MISSING else f.default))

    def decorate(command: Callable) -> Callable:
        own = inspect.signature(command, eval_str=True)
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own.parameters.values()
                  if p.name != "slurm"]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            values = {f.name: kwargs.pop(f"slurm_{f.name}") for f in chosen}
            values.update({k: list(v or []) for k, v in values.items()
                           if SlurmOptions.__dataclass_fields__[k].default_factory is list})
            return command(**kwargs, slurm=SlurmOptions(**values))

        wrapper.__signature__ = own.replace(parameters=[*params, *derived])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in [*params, *derived]}
        return wrapper

    return decorate


def _given(value: Any) -> bool:
    """Set on the command line: `--nodes 0` counts (it is refused, not ignored)."""
    return value is not None and value is not False and value != []


def _flag_fields() -> list[Field]:
    return [f for f in fields(SlurmOptions) if "help" in f.metadata]


def _name(f: Field) -> str:
    return "--" + f.name.replace("_", "-")
