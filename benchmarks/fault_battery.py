"""The bad-input battery: hostile and mistaken values given to real `dte` processes.

Each case runs in a fresh folder (its own project) holding only the files the case sets up and
is classified: `handled` (valid input accepted, exit 0; bad input refused with a message that
starts `Error:`, exit 2), `traceback`, `leftover` (a refused case that left files or run
folders behind, or a dry run that wrote any), `wrongly_accepted` (bad input, exit 0) or
`wrong_exit` (anything else). Prints one JSON object on the last line.
Usage: uv run python benchmarks/fault_battery.py [--jobs 2] [--only SUBSTRING] [--list]
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

DTE = str(Path(sys.executable).with_name("dte"))
CONTROLS = {"newline": "\n", "cr": "\r", "esc": "\x1b", "tab": "\t", "del": "\x7f"}
SLURM_TEXT_FLAGS = ["--job-name", "--partition", "--account", "--qos", "--constraint", "--mem",
                    "--container", "--time"]


@dataclass
class Case:
    """One `dte` invocation, the files it starts with, and whether it should be accepted."""

    name: str
    args: list[str]
    ok: bool = False
    files: dict[str, str | bytes] = field(default_factory=dict)
    needles: tuple[str, ...] = ()


def slurm_cases() -> list[Case]:
    """Control characters in every SLURM text flag and in site profile keys; bad targets."""
    dry = ["train", "toy", "--backend", "slurm", "--dry-run"]
    cases = [Case(f"slurm {flag} {kind}", [*dry, flag, f"x{char}echo pwned"],
                  needles=(flag, "control character"))
             for flag in SLURM_TEXT_FLAGS for kind, char in CONTROLS.items()
             if kind != "tab" or flag in ("--job-name", "--partition")]
    cases += [Case(f"slurm {flag} {kind}", [*dry, flag, value], needles=(flag,))
              for flag, kind, value in [("--env", "newline", "A=1\nid"),
                                        ("--env", "bad name", "1A=x"),
                                        ("--setup", "newline", "true\nid"),
                                        ("--mem", "words", "lots"), ("--time", "words", "1h"),
                                        ("--cpus-per-task", "zero", "0"),
                                        ("--array", "zero", "0"), ("--nodes", "zero", "0"),
                                        ("--nodes", "negative", "-3")]]
    for key in ("partition", "account", "qos", "constraint", "python", "mem"):
        cases.append(Case(f"site key {key} newline", [*dry, "--site", "evil"],
                          files={"dte.toml": f'[sites.evil]\n{key} = "x\\necho pwned"\n'},
                          needles=(f"`{key}`",)))
    cases.append(Case("site env value newline", [*dry, "--site", "evil"],
                      files={"dte.toml": '[sites.evil]\nenv = { X = "1\\nid" }\n'},
                      needles=("`env.X`",)))
    cases.append(Case("site modules newline", [*dry, "--site", "evil"],
                      files={"dte.toml": '[sites.evil]\nmodules = ["a\\nid"]\n'}))
    cases.append(Case("site unknown key", [*dry, "--site", "evil"],
                      files={"dte.toml": '[sites.evil]\npartitoin = "gpu"\n'}))
    cases.append(Case("site bad toml", [*dry, "--site", "evil"],
                      files={"dte.toml": '[sites.evil\n'}))
    cases.append(Case("site unknown", [*dry, "--site", "nowhere"]))
    for target in ["-oProxyCommand=touch pwned", "-Fevil", "a b", "a;touch pwned", "user@-h",
                   "$(touch pwned)", "@host", "a@b@c",
                   "ssh://x", "-J x"]:
        cases.append(Case(f"remote {target!r}", [*dry, "--remote", target],
                          needles=("ssh destination",)))
    cases.append(Case("site remote option", [*dry, "--site", "evil"],
                      files={"dte.toml": '[sites.evil]\nremote = "-oProxyCommand=id"\n'}))
    cases += [Case("slurm plain dry run", dry, ok=True),
              Case("slurm hostile but inert", [*dry, "--job-name", "$(touch pwned)",
                                               "--env", "X=`touch pwned`"], ok=True),
              Case("slurm site ok", [*dry, "--site", "good"], ok=True,
                   files={"dte.toml": '[sites.good]\npartition = "gpu"\naccount = "p1"\n'})]
    return cases


def local_count_cases() -> list[Case]:
    """SLURM-only flags without --backend slurm, and counts out of range."""
    dry = ["train", "toy", "--dry-run"]
    cases = [Case(f"local {flag} {value}", [*dry, flag, value])
             for flag in ("--nodes", "--array", "--cpus-per-task")
             for value in ("0", "2")]
    cases += [Case(f"local --procs {value}", [*dry, "--procs", value])
              for value in ("0", "-1", "100000", "x")]
    cases += [Case(f"local --gpus {value}", [*dry, "--gpus", value]) for value in ("0", "-1", "64")]
    cases += [Case("local --procs and --gpus", [*dry, "--procs", "2", "--gpus", "1"]),
              Case("backend unknown", [*dry, "--backend", "k8s"]),
              Case("strategy unknown", [*dry, "--strategy", "nccl-magic"]),
              Case("local dry run", dry, ok=True),
              Case("local --procs 2 dry run", [*dry, "--procs", "2"], ok=True)]
    return cases


def config_cases() -> list[Case]:
    """--set values and config files that do not fit the schema."""
    show = ["config", "show", "toy"]
    bad_sets = ["train.epochs=lots", "train.epochs=-1", "train.epochs", "train.epoch=2",
                "nope.x=1", "train.epochs=1e23", "=1", "train.=1", "train.epochs=[1,2]",
                "train.epochs={a: 1}", "data=3", "train.strategy=nccl-magic", "optim.lr=.inf",
                "optim.lr=nan", "optim.lr=1e308", "train.seed=-1", "train.epochs=0",
                "train.epochs=1\n2"]
    cases = [Case(f"--set {value!r}", [*show, "--set", value]) for value in bad_sets]
    files = {"tab indent": "train:\n\tepochs: 3\n", "bad indent": "train:\n  epochs: 3\n   lr: 1\n",
             "open list": "train: [1,\n", "python tag": "train: !!python/object/apply:os.system "
             "['touch pwned']\n", "not a mapping": "- 1\n- 2\n", "binary": b"\x00\xff\xfe\x00",
             "unknown section": "trian:\n  epochs: 1\n", "wrong type": "train:\n  epochs: x\n"}
    for label, text in files.items():
        cases.append(Case(f"config file {label}", [*show, "--config", "c.yaml"],
                          files={"c.yaml": text}))
    cases += [Case("config file missing", [*show, "--config", "none.yaml"]),
              Case("config file is a folder", [*show, "--config", "."]),
              Case("config shadow link", [*show, "--config", "c.yaml"],
                   files={"c.yaml": "->/etc/shadow"}, needles=()),
              Case("config show ok", [*show, "--set", "train.epochs=2"], ok=True),
              Case("unknown science", ["config", "show", "virgo"]),
              Case("config schema ok", ["config", "schema", "toy"], ok=True)]
    return cases


def tune_cases() -> list[Case]:
    """Study names, storages and counts of `dte tune`."""
    tune = ["tune", "toy", "--trials", "1"]
    cases = [Case(f"study {name!r}", [*tune, "--study", name, "--dry-run"])
             for name in ["../../evil", "/abs", ".hidden", "a/b", "a..b", "x" * 101, "sp ace",
                          "new\nline", "$(id)", "-x", "\u00fc", "a:b", "*"]]
    cases += [Case(f"storage {url!r}", [*tune, "--storage", url, "--dry-run"])
              for url in ["journal:/proc/nope/x", "postgresql+psycopg://u:pw@127.0.0.1:9/db",
                          "nosuch://x", "sqlite:////proc/nope/x.db"]]
    cases += [Case(f"tune --trials {value}", ["tune", "toy", "--trials", value])
              for value in ("0", "-2", "x")]
    cases += [Case(f"tune {flag} {value}", [*tune, flag, value])
              for flag, value in [("--workers", "0"), ("--procs", "0"), ("--backend", "k8s"),
                                  ("--direction", "up"), ("--sampler", "magic"),
                                  ("--pruner", "magic")]]
    cases += [Case("tune space missing", [*tune, "--space", "none.yaml"]),
              Case("tune space bad key", [*tune, "--space", "s.yaml"],
                   files={"s.yaml": "train.nope: {low: 1, high: 2}\n"}),
              Case("tune dry run", [*tune, "--study", "ok-study", "--dry-run"], ok=True)]
    return cases


def jobs_cases() -> list[Case]:
    """Job ids given to `dte jobs`, and a tampered job index."""
    cases = [Case(f"jobs {verb} {job!r}", ["jobs", verb, job])
             for verb in ("logs", "status", "cancel")
             for job in ["1;touch pwned", "$(touch pwned)", "1 2", "1_", "x", "../1", "1\n2",
                         "1&id", "`id`", "1_2_3"]]
    cases += [Case("jobs unknown id", ["jobs", "status", "12345"]),
              Case("jobs list empty", ["jobs", "list"], ok=True),
              Case("jobs index hostile remote", ["jobs", "status", "7"],
                   files={".dte/jobs.jsonl": json.dumps({
                       "job_id": "7", "science": "toy", "run_dirs": ["/r"], "local_runs": [],
                       "remote": "-oProxyCommand=touch pwned"}) + "\n"})]
    return cases


def misc_cases() -> list[Case]:
    """Mistyped commands, missing runs and models, outputs that cannot be written."""
    cases = [Case(f"command {name!r}", [name]) for name in ["trian", "tnue", "jbos", "x",
                                                             "regsiter", "predcit", "runz"]]
    cases += [Case("runs show missing", ["runs", "show", "nope"]),
              Case("predict run missing", ["predict", "toy", "--run", "latest", "--output",
                                           "y.npz"]),
              Case("evaluate run missing", ["evaluate", "toy", "--run", "latest"]),
              Case("resume missing", ["train", "toy", "--resume", "latest", "--dry-run"]),
              Case("register run missing", ["register", "nope", "--name", "m"]),
              Case("export run missing", ["export", "nope", "--format", "onnx", "--out",
                                          "m.onnx"]),
              Case("data check missing path", ["data", "check", "toy", "--set",
                                               "data.path=/nonexistent"]),
              Case("sciences list", ["sciences"], ok=True),
              Case("version", ["--version"], ok=True),
              Case("runs list empty", ["runs", "list"], ok=True)]
    return cases


def data_cases() -> list[Case]:
    """Data files a science cannot read: garbage, empty, corrupt metadata."""
    check = ["data", "check"]
    return [
        Case("hep garbage file", [*check, "hep-3dgan", "--set", "data.path=bad.h5"],
             files={"bad.h5": b"not hdf5 at all" * 10}),
        Case("hep empty file", [*check, "hep-3dgan", "--set", "data.path=bad.h5"],
             files={"bad.h5": b""}),
        Case("hep missing file", [*check, "hep-3dgan", "--set", "data.path=none.h5"]),
        Case("climate corrupt dataset.json", [*check, "climate-cyclone", "--set",
                                              "data.path=d"],
             files={"d/dataset.json": "{not json", "d/tracks.csv": "sid,time\n"}),
        Case("climate empty folder", [*check, "climate-cyclone", "--set", "data.path=d"],
             files={"d/.keep": ""}),
        Case("virgo garbage file", [*check, "virgo-gw", "--set", "data.path=bad.h5"],
             files={"bad.h5": b"\x89HDF\r\n garbage"}),
        Case("virgo missing folder", [*check, "virgo-gw", "--set", "data.path=none"]),
    ]


CASES = [*slurm_cases(), *data_cases(), *local_count_cases(), *config_cases(), *tune_cases(),
         *jobs_cases(), *misc_cases()]


def _setup(folder: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str) and content.startswith("->"):
            path.symlink_to(content[2:])
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def run_case(case: Case, root: Path, index: int) -> dict:
    """Run one case in its own folder and classify what it did."""
    folder = root / f"case-{index:03d}"
    folder.mkdir()
    _setup(folder, case.files)
    before = _tree(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTE_", "SLURM_"))}
    env.update(COLUMNS="200", XDG_CONFIG_HOME=str(folder / ".config"), OMP_NUM_THREADS="1")
    start = time.perf_counter()
    try:
        done = subprocess.run([DTE, *case.args], cwd=folder, capture_output=True, text=True,
                              timeout=300, env=env)
        code, stderr = done.returncode, done.stderr
    except subprocess.TimeoutExpired:
        code, stderr = None, "timeout"
    seconds = time.perf_counter() - start
    left = sorted(_tree(folder) - before)
    text = " ".join(stderr.split())
    if "Traceback" in stderr:
        verdict = "traceback"
    elif case.ok:
        verdict = "handled" if code == 0 and not (left and "--dry-run" in case.args) else \
            ("leftover" if code == 0 else "wrong_exit")
    elif code == 0:
        verdict = "wrongly_accepted"
    elif left:
        verdict = "leftover"
    elif code == 2 and "Error:" in stderr and all(n in text for n in case.needles):
        verdict = "handled"
    else:
        verdict = "wrong_exit"
    shutil.rmtree(folder, ignore_errors=True)
    return {"case": case.name, "verdict": verdict, "exit": code, "s": round(seconds, 2),
            "left": left[:5], "message": text[:300]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once")
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args()
    cases = [c for c in CASES if args.only in c.name]
    if args.list:
        for case in cases:
            print(case.name)
        print(json.dumps({"cases": len(cases)}))
        return
    root = Path(tempfile.mkdtemp(prefix="dte-fault-battery-"))
    start = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda ic: run_case(ic[1], root, ic[0]), enumerate(cases)))
    shutil.rmtree(root, ignore_errors=True)
    counts = {v: sum(r["verdict"] == v for r in results)
              for v in ("handled", "traceback", "leftover", "wrongly_accepted", "wrong_exit")}
    for result in results:
        if result["verdict"] != "handled":
            print(json.dumps(result), file=sys.stderr)
    print(json.dumps({"cases": len(results), **counts,
                      "accepted_valid": sum(r["verdict"] == "handled" and c.ok
                                            for r, c in zip(results, cases, strict=True)),
                      "wall_s": round(time.perf_counter() - start, 1), "jobs": args.jobs,
                      "not_handled": [r["case"] for r in results if r["verdict"] != "handled"]}))


if __name__ == "__main__":
    main()
