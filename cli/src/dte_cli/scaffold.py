"""A new science package written from the skeleton templates (`dte science new`)."""

from __future__ import annotations

import keyword
import os
import re
import shutil
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from pathlib import Path
from string import Template

from dte_core.errors import DteError

FRAMEWORKS = {"torch": "PyTorch", "tensorflow": "TensorFlow"}
NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
SUFFIX = ".tmpl"


class ScaffoldError(DteError):
    """A science name or target folder that `dte science new` cannot use."""


def distribution_of(name: str) -> str:
    """The distribution name of science `name`: dte-NAME, as the sciences of this project."""
    return name if name.startswith("dte-") else f"dte-{name}"


def package_of(name: str) -> str:
    """The import name of science `name`."""
    return distribution_of(name).replace("-", "_")


def compatible_range(dist: str) -> str:
    """`>=X.Y,<X.Y+1` around the installed version of `dist` (minor bumps may break)."""
    try:
        major, minor = (int(p) for p in version(dist).split(".")[:2])
    except (PackageNotFoundError, ValueError):
        major, minor = 0, 2
    return f">={major}.{minor},<{major}.{minor + 1}"


def check(name: str, framework: str, target: Path) -> None:
    """Refuse a name, framework or folder that would give a broken or clashing package."""
    from dte_core.sciences import installed

    if not NAME.fullmatch(name) or keyword.iskeyword(package_of(name)):
        raise ScaffoldError(
            f"'{name}' is not a science name: use lowercase letters, digits and single dashes, "
            f"starting with a letter (for example `dte science new ocean-waves`); it becomes "
            f"the command's SCIENCE argument, the distribution {distribution_of('ocean-waves')} "
            f"and the import name {package_of('ocean-waves')}.")
    if framework not in FRAMEWORKS:
        raise ScaffoldError(f"--framework {framework!r} is not one of {', '.join(FRAMEWORKS)}; "
                            f"choose the engine your model is written for.")
    if name in installed():
        raise ScaffoldError(
            f"A science named '{name}' is already installed (`dte sciences` lists it), so a "
            f"second one would clash with it on the `dte.sciences` entry point. Choose another "
            f"name, or uninstall the installed one first.")
    try:
        version(distribution_of(name))
    except PackageNotFoundError:
        pass
    else:
        raise ScaffoldError(
            f"The distribution {distribution_of(name)} is already installed, so a science "
            f"'{name}' would overwrite it. Choose another name.")
    if target.exists():
        raise ScaffoldError(
            f"'{target}' already exists; dte science new writes a new folder and never "
            f"overwrites one. Choose another name, another --out folder, or move it away.")


def variables(name: str, framework: str) -> dict[str, str]:
    """The values substituted into the templates."""
    from dte_core.science import CONTRACT_VERSION

    words = re.split(r"[-_]", name)
    return {"name": name, "framework": framework, "framework_title": FRAMEWORKS[framework],
            "distribution": distribution_of(name), "package": package_of(name),
            "class_name": "".join(w.capitalize() for w in words),
            "contract": str(CONTRACT_VERSION), "core_range": compatible_range("dte-core"),
            "cli_range": compatible_range("dte-cli")}


def templates(framework: str) -> list[tuple[Path, str]]:
    """(relative target path, template text) of the common and the framework's templates."""
    root = files("dte_cli") / "templates" / "science"
    out = []
    for part in ("common", framework):
        base = Path(str(root / part))
        for path in sorted(base.rglob("*" + SUFFIX)):
            out.append((path.relative_to(base), path.read_text(encoding="utf-8")))
    return out


def write(name: str, framework: str, out: Path) -> Path:
    """Write the package of science `name` into `out/NAME` (complete, or not at all)."""
    target = Path(out).resolve() / name
    check(name, framework, target)
    values = variables(name, framework)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{name}.partial-{os.getpid()}")
    try:
        for relative, text in templates(framework):
            parts = [values["package"] if p == "PACKAGE" else p for p in relative.parts]
            path = partial.joinpath(*parts).with_name(parts[-1].removesuffix(SUFFIX))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(Template(text).substitute(values), encoding="utf-8")
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target
