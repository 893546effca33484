"""`dte sites list|show`: the site profiles found for this user and project."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from dte_cli.lazy import new_app
from dte_cli.options import JsonOpt

app = new_app(name="sites", help="Site profiles (cluster defaults) for --backend slurm.",
              no_args_is_help=True)


@app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Every profile found, where it comes from, and the default one."""
    from dte_cli.backends import sites

    default = sites.default_site_name()
    rows = [{"name": name, "file": str(path), "default": name == default,
             "description": table.get("description", "")}
            for name, (table, path) in sorted(sites.raw_profiles().items())]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print(f"No site profiles. Add {sites.user_sites_dir()}/NAME.toml or a [sites.NAME] "
              f"table in {sites.project_file()}.")
        return
    for row in rows:
        mark = "*" if row["default"] else " "
        print(f"{mark} {row['name']:<20} {row['file']}  {row['description']}")


@app.command()
def show(name: Annotated[str | None, typer.Argument(help="Profile (default: the default one).",
                                                    show_default=False)] = None) -> None:
    """A profile with every default filled in, as TOML-like key = value lines."""
    from dte_cli.backends import sites

    profile = sites.load(name)
    print(json.dumps(profile.model_dump(mode="json"), indent=2))
