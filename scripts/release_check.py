"""Release check: build every published distribution, then install each science ALONE from
those wheels into an empty venv (third-party packages from the index) and use it as a new user
would: list it, generate data, train with two processes (embedded MLflow), register, predict
from the registry, tune (one-process trials), and ask for each optional engine it lacks.
Prints one JSON line per science and a summary line.

    python scripts/release_check.py [--out DIR] [--science NAME]...

Fails (exit 1) on a traceback, a non-zero exit, a framework that must not be there (TensorFlow
beside a torch science, torch beside climate-cyclone), or a resolver that accepts a science
whose dte-core range excludes the installed dte-core.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ["dte-core", "dte-cli", "dte-virgo-gw", "dte-hep-3dgan", "dte-climate-cyclone"]


def sets(*items: str) -> list[str]:
    return [arg for item in items for arg in ("--set", item)]


#: per science: its distribution, the framework that must be absent, and the short recipes
SCIENCES = {
    "virgo-gw": {
        "dist": "dte-virgo-gw", "absent": "tensorflow",
        "generate": ["--samples", "24", "--sample-rate", "1024", "--duration", "1",
                     "--frequency-range", "16,256", "--q-range", "8,8", "--map-shape", "16,16"],
        "train": sets("data.sample_rate=1024", "data.duration=1", "data.frequency_range=16,256",
                      "data.q_range=8,8", "data.map_shape=16,16", "model.base_channels=4",
                      "model.depth=2", "train.batch_size=4", "train.epochs=1"),
        "predict": lambda data: ["--input", str(data), "--split", "val"],
        "output": "cleaned.h5",
        "missing": [(["--strategy", "deepspeed"], "dte-core[deepspeed]"),
                    (["--set", "tracking.tensorboard=true"], "dte-core[tensorboard]")],
        "export": ("onnx", "dte-core[export]"),
    },
    "hep-3dgan": {
        "dist": "dte-hep-3dgan", "absent": "tensorflow",
        "generate": ["--events", "16", "--energy-range", "10,100"],
        "train": sets("data.energy_range=10,100", "train.batch_size=2", "train.epochs=1",
                      "evaluate.events=10", "evaluate.batch_size=6"),
        "file": "showers.h5",
        "predict": lambda data: ["--energy", "50", "--events", "2"],
        "output": "showers.h5",
        "missing": [(["--strategy", "deepspeed"], "dte-core[deepspeed]")],
        "export": None,
    },
    "climate-cyclone": {
        "dist": "dte-climate-cyclone", "absent": "torch",
        "generate": ["--years", "2001", "--months", "8", "--region", "10,50,120,160",
                     "--resolution", "1.0", "--storms-per-month", "8", "--lows-per-month", "10",
                     "--chunk-time", "8", "--patch-size", "16"],
        "train": sets("data.patch_size=16", "model.filters=8,16", "train.batch_size=16",
                      "train.epochs=1", "evaluate.maps=2"),
        "predict": lambda data: ["--threshold", "0.3"],
        "output": "found.csv",
        "missing": [],
        "export": None,
    },
}


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 1800) -> dict:
    """Run a command; what it printed and how it ended."""
    start = time.monotonic()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    return {"cmd": " ".join(cmd[:3]) + (" ..." if len(cmd) > 3 else ""), "rc": done.returncode,
            "s": round(time.monotonic() - start, 1), "stdout": done.stdout,
            "stderr": done.stderr}


def build(out: Path, uv: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for dist in PUBLISHED:
        subprocess.run([uv, "build", "--package", dist, "--out-dir", str(out), "--quiet"],
                       cwd=ROOT, check=True)


def venv_size(venv: Path) -> tuple[float, int]:
    """(MB on disk, installed distributions)."""
    total = sum(f.lstat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())
    site = next(venv.glob("lib/python*/site-packages"))
    return round(total / 2**20, 1), len(list(site.glob("*.dist-info")))


def check_science(name: str, wheels: Path, work: Path, uv: str) -> dict:
    recipe = SCIENCES[name]
    venv = work / f"venv-{name}"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = str(venv / "bin" / "python")
    start = time.monotonic()
    install = subprocess.run([uv, "pip", "install", "--quiet", "--python", python,
                              "--find-links", str(wheels),
                              recipe["dist"]], capture_output=True, text=True)
    install_s = round(time.monotonic() - start, 1)
    report: dict = {"science": name, "install_s": install_s, "steps": [], "problems": []}
    if install.returncode != 0:
        report["problems"].append(f"install failed: {install.stderr[-2000:]}")
        return report
    report["size_mb"], report["packages"] = venv_size(venv)
    absent = subprocess.run([python, "-c", f"import importlib.util, sys; sys.exit("
                             f"importlib.util.find_spec({recipe['absent']!r}) is not None)"])
    if absent.returncode != 0:
        report["problems"].append(f"{recipe['absent']} is installed beside {name}")

    project = work / f"project-{name}"
    project.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIRTUAL_ENV", "DTE_", "UV_PROJECT"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", COLUMNS="200",
               DTE_PROJECT_DIR=str(project))
    dte = str(venv / "bin" / "dte")
    data = project / "data"
    train = [*recipe["train"], "--set", f"data.path={data / recipe.get('file', '')}"]
    steps = [
        [dte, "sciences", "--json"],
        [dte, "data", "generate", name, "--out", str(data), *recipe["generate"]],
        # two worker processes (the tune trials below train in one process each)
        [dte, "train", name, "--procs", "2", *train],
        [dte, "register", "latest", "--name", f"release-{name}", "--alias", "check"],
        [dte, "predict", name, "--model", f"models:/release-{name}@check", "--output",
         str(project / recipe["output"]), *recipe["predict"](data)],
        [dte, "tune", name, "--trials", "2", "--study", "release", *train],
    ]
    for cmd in steps:
        result = run(cmd, project, env)
        report["steps"].append({k: result[k] for k in ("cmd", "rc", "s")})
        if result["rc"] != 0 or "Traceback" in result["stderr"]:
            report["problems"].append(f"`{' '.join(cmd[1:4])}` exit {result['rc']}: "
                                      f"{result['stderr'][-1500:]}")
            return report
        if cmd[1] == "sciences":
            rows = {r["name"]: r for r in json.loads(result["stdout"])}
            if rows.get(name, {}).get("status") != "ok":
                report["problems"].append(f"dte sciences does not list {name}: {rows}")
    # optional engines that are not installed: one paragraph naming the install line, exit 2
    refusals = [([dte, "train", name, *train, *extra], hint) for extra, hint in recipe["missing"]]
    refusals.append(([dte, "tune", name, "--trials", "1", *train, "--storage",
                      "postgresql+psycopg://u:p@127.0.0.1:9/x"], "dte-core[postgres]"))
    if recipe["export"]:
        fmt, hint = recipe["export"]
        refusals.append(([dte, "export", f"models:/release-{name}@check", "--format", fmt,
                          "--out", str(project / "model.onnx")], hint))
    # the web UI and the pipeline compiler are extras, not part of a lean install
    refusals.append(([dte, "ui", "--port", "5999"], "dte-core[ui]"))
    refusals.append(([dte, "pipeline", "export", name, "--tracking-uri", "http://m:5000",
                      "--out", str(project / "p.yaml")], "dte-cli[pipeline]"))
    # a science that is not installed: named with its install line
    other = next(n for n in sorted(SCIENCES) if n != name)
    refusals.append(([dte, "config", "show", other], f"pip install {SCIENCES[other]['dist']}"))
    for cmd, hint in refusals:
        result = run(cmd, project, env, timeout=600)
        text = " ".join(result["stderr"].split())
        ok = result["rc"] == 2 and hint in text and "Traceback" not in result["stderr"]
        report["steps"].append({"cmd": f"missing {hint}", "rc": result["rc"], "s": result["s"],
                                "ok": ok})
        if not ok:
            report["problems"].append(f"`{' '.join(cmd[1:])}` without {hint}: exit "
                                      f"{result['rc']}: {result['stderr'][-1500:]}")
    return report


def check_refused_range(wheels: Path, work: Path, uv: str) -> str | None:
    """A science asking for a dte-core range that excludes ours must not install."""
    pkg = work / "future-science"
    (pkg / "src" / "dte_future_science").mkdir(parents=True)
    (pkg / "src" / "dte_future_science" / "__init__.py").write_text("")
    (pkg / "pyproject.toml").write_text(
        '[project]\nname = "dte-future-science"\nversion = "1.0.0"\n'
        'dependencies = ["dte-core>=9.0,<10"]\n[build-system]\n'
        'requires = ["uv_build>=0.9,<0.14"]\nbuild-backend = "uv_build"\n')
    subprocess.run([uv, "build", "--quiet", "--wheel", "--out-dir", str(wheels), str(pkg)],
                   check=True, cwd=pkg)
    venv = work / "venv-refused"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    done = subprocess.run([uv, "pip", "install", "--quiet", "--python",
                           str(venv / "bin" / "python"), "--find-links", str(wheels),
                           "--no-index", "dte-core", "dte-future-science"],
                          capture_output=True, text=True)
    if done.returncode == 0:
        return "the resolver installed a science whose dte-core range excludes dte-core 0.x"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: temp)")
    parser.add_argument("--science", action="append", choices=sorted(SCIENCES))
    args = parser.parse_args()
    uv = os.environ.get("UV") or shutil.which("uv") or "uv"
    # every venv gets its .pyc at install, as a user's would (imports take ~3x longer without,
    # where PYTHONDONTWRITEBYTECODE is set or site-packages is read-only)
    os.environ["UV_COMPILE_BYTECODE"] = "1"
    work = args.out or Path(tempfile.mkdtemp(prefix="dte-release-"))
    wheels = work / "dist"
    build(wheels, uv)
    problems = []
    refused = check_refused_range(wheels, work, uv)
    if refused:
        problems.append(refused)
    reports = []
    for name in args.science or sorted(SCIENCES):
        report = check_science(name, wheels, work, uv)
        reports.append(report)
        problems += [f"{name}: {p}" for p in report["problems"]]
        print(json.dumps({k: v for k, v in report.items() if k != "problems"}), flush=True)
    summary = {"ok": not problems, "problems": problems,
               "wheels": sorted(p.name for p in wheels.glob("*.whl")),
               "venvs": {r["science"]: {k: r.get(k) for k in ("size_mb", "packages",
                                                               "install_s")}
                         for r in reports},
               "peer_itwinai": {"size_mb": 6.8 * 1024, "packages": 211, "install_s": 287}}
    print(json.dumps(summary))
    if args.out is None and not problems:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
