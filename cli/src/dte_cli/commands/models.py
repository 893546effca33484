"""`dte models list|show|versions|alias|unalias|tag`: the model registry."""

from __future__ import annotations

from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.options import JsonOpt

app = new_app(name="models", help="The model registry: list, show, versions, aliases, tags.",
              no_args_is_help=True)
NameArg = Annotated[str, typer.Argument(help="Registered model name.", show_default=False)]


def _client():
    from dte_core.registry import store

    return store._client()[0]


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Registered models with their latest version and aliases."""
    from dte.api import models
    from dte_core.registry import store

    rows = [{**row, "aliases": ", ".join(f"{a}->v{v}" for a, v in row["aliases"].items())}
            for row in models()]
    if as_json:
        print(store.dumps(rows))
        return
    from dte_cli.summary import print_table

    print_table("Registered models", rows, ["name", "science", "versions", "latest",
                                             "aliases"])


@app.command()
def show(name: NameArg, as_json: JsonOpt = False) -> None:
    """One model: aliases, tags and every version."""
    from dte_core.registry import store

    data = store.describe(_client(), name)
    if as_json:
        print(store.dumps(data))
        return
    from dte_cli.summary import print_fields

    print_fields(f"model {name}", {k: v for k, v in data.items() if k != "versions"})
    versions(name)


@app.command()
def versions(name: NameArg, as_json: JsonOpt = False) -> None:
    """The versions of a model."""
    from dte_core.registry import store

    data = store.describe(_client(), name)["versions"]
    if as_json:
        print(store.dumps(data))
        return
    from dte_cli.summary import print_table

    rows = [{**v, "aliases": ", ".join(v["aliases"])} for v in data]
    print_table(f"{name} versions", rows, ["version", "aliases", "run_id", "checkpoint",
                                            "science_version", "description"])


@app.command()
def alias(name: NameArg,
          version: Annotated[int, typer.Argument(help="Version number.", show_default=False)],
          alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="Alias to set.",
                                                    show_default=False)]) -> None:
    """Point ALIAS at VERSION (moving it if it points elsewhere)."""
    from dte_core.registry import store
    from dte_core.registry.uri import ModelRef

    mlf = _client()
    store.version_of(mlf, ModelRef(name, version=str(version)))
    mlf.set_registered_model_alias(name, alias_name, str(version))
    print(f"models:/{name}@{alias_name} -> version {version}")


@app.command()
def unalias(name: NameArg,
            alias_name: Annotated[str, typer.Argument(metavar="ALIAS", show_default=False,
                                                      help="Alias to remove.")]) -> None:
    """Remove an alias."""
    from dte_core.registry import store
    from dte_core.registry.uri import ModelRef

    mlf = _client()
    store.version_of(mlf, ModelRef(name, alias=alias_name))
    mlf.delete_registered_model_alias(name, alias_name)
    print(f"removed models:/{name}@{alias_name}")


@app.command()
def tag(name: NameArg,
        items: Annotated[list[str], typer.Argument(help="key=value (repeatable).",
                                                   show_default=False)],
        version: Annotated[int | None, typer.Option("--version", show_default=False,
                                                    help="Tag this version, not the model.")
                           ] = None) -> None:
    """Set tags on a model or one of its versions."""
    from dte_core.errors import ConfigError
    from dte_core.registry import store
    from dte_core.registry.uri import ModelRef

    mlf = _client()
    store.describe(mlf, name)
    if version is not None:
        store.version_of(mlf, ModelRef(name, version=str(version)))
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"Tag {item!r} must be key=value.")
        if version is None:
            mlf.set_registered_model_tag(name, key, value)
        else:
            mlf.set_model_version_tag(name, str(version), key, value)
    print(f"tagged {name}" + (f" v{version}" if version is not None else ""))
