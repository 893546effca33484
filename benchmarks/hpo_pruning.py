"""What each pruner and a second worker buy in `dte tune`, measured on the toy science.

Per sampler seed, one study per pruner with the same seeded TPE sampler and search space,
one worker each; `none` (no pruning) is the reference. For each pruner it counts the training
epochs spent, and the seconds elapsed, in trial order until the study first reaches the value
that it and the unpruned study both reach (the worse of their two bests), and whether its own
best is at least as good as the unpruned best (these on the pruned study's first TRIALS
trials). A pruned trial is cheap, so a pruned study is also given more trials
(`--pruned-trials`, default 3 x TRIALS, about the unpruned study's epoch budget): `to_best`
counts its epochs until it first reaches the unpruned study's own best value, against the
epochs the unpruned study spent to find it (`best_epoch_ratio`; 2 = the unpruned best in half
the epochs; 0 when it never got there). Where the best trial falls in the order decides much
of one seed's ratio, so the medians over seeds are the figures to read. Last, the wall-clock
speed-up of 2 workers over 1 with the first pruner given.

`--science` and `--set` run the same on a real science with short settings (its own default
search space unless `--space-yaml` is given).

Prints {"pruners": {NAME: {"median_epoch_ratio", "median_time_ratio",
"median_total_epoch_ratio", "median_best_epoch_ratio", "seeds_best_kept",
"seeds_reaching_unpruned_best", ...}}, "per_seed", "wall_2_workers_s",
"speedup_2_workers", ...}; an epoch ratio of 2 means the best came with half the epochs.
Usage: uv run python benchmarks/hpo_pruning.py [--trials 16] [--epochs 8] [--seeds 1 2 3 4 5]
       [--pruners median asha hyperband asha:min_resource=2] [--science toy]
       [--set data.samples=512]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = "optim.lr: {low: 1.0e-5, high: 0.5, log: true}\nmodel.hidden: {low: 4, high: 64}\n"
Rows = list[tuple[int, float | None, float]]  # (epochs trained, value or None, seconds done)


def study(project: Path, args: argparse.Namespace, name: str, pruner: str, workers: int,
          seed: int, trials: int | None = None) -> tuple[float, Rows]:
    """Run one study; (wall seconds, rows in trial order)."""
    dte = str(Path(sys.executable).with_name("dte"))
    space = []
    if args.space_yaml is not None:
        (project / "space.yaml").write_text(args.space_yaml)
        space = ["--space", str(project / "space.yaml")]
    sets = [a for item in args.set for a in ("--set", item)]
    start = time.perf_counter()
    subprocess.run([dte, "tune", args.science, "--trials", str(trials or args.trials),
                    "--workers",
                    str(workers), "--study", name, "--pruner", pruner, "--seed", str(seed),
                    *space, "--set", f"train.epochs={args.epochs}", "--set",
                    "tracking.mlflow=false", *sets],
                   cwd=project, check=True, capture_output=True, env={
                       **os.environ, "DTE_PROJECT_DIR": str(project)})
    wall = time.perf_counter() - start
    import optuna
    from dte_core.hpo.study import open_storage

    loaded = optuna.load_study(study_name=name, storage=open_storage(
        f"journal:{project / '.dte' / 'hpo' / (name + '.journal')}"))
    trials = sorted(loaded.trials, key=lambda t: t.number)
    first = min(t.datetime_start for t in trials)
    rows = []
    for trial in trials:
        run = json.loads((Path(trial.user_attrs["run_dir"]) / "run.json").read_text())
        # a pruned or failed (diverged) trial also spent the epoch it stopped in
        trained = run.get("epoch", 0) + (run["status"] in ("pruned", "failed"))
        done = (trial.datetime_complete - first).total_seconds()
        rows.append((trained, trial.value if trial.state.name == "COMPLETE" else None, done))
    return wall, rows


def to_reach(rows: Rows, target: float, sign: float) -> tuple[int, float]:
    """Epochs spent and seconds elapsed until a trial's value reaches `target`."""
    spent = 0
    for trained, value, done in rows:
        spent += trained
        if value is not None and sign * value <= sign * target:
            return spent, done
    return spent, rows[-1][2]


def best(rows: Rows, sign: float) -> float:
    return min((v for _, v, _ in rows if v is not None), key=lambda v: sign * v)


def compare(root: Path, args: argparse.Namespace, seed: int, sign: float) -> dict:
    """Every pruner's study against the unpruned one, for one sampler seed."""
    results = {}
    for pruner in ["none", *args.pruners]:
        safe = re.sub(r"[^A-Za-z0-9]+", "_", pruner)  # specs carry ':', '=' and ','
        (root / safe).mkdir(parents=True)
        results[pruner] = study(root / safe, args, safe, pruner, 1, seed,
                                None if pruner == "none" else args.pruned_trials)
    _, plain = results["none"]
    out = {"seed": seed, "best_no_pruning": round(best(plain, sign), 6),
           "epochs_total_no_pruning": sum(r[0] for r in plain)}
    plain_best = best(plain, sign)
    e_plain_best, _ = to_reach(plain, plain_best, sign)
    for pruner in args.pruners:
        wall, budget = results[pruner]
        rows = budget[:args.trials]
        reached = any(v is not None and sign * v <= sign * plain_best for _, v, _ in budget)
        e_best, _ = to_reach(budget, plain_best, sign)
        target = max(best(plain, sign), best(rows, sign), key=lambda v: sign * v)
        e_plain, t_plain = to_reach(plain, target, sign)
        e_mine, t_mine = to_reach(rows, target, sign)
        out[pruner] = {"best": round(best(rows, sign), 6),
                       "best_kept": sign * best(rows, sign) <= sign * best(plain, sign),
                       "target_value": round(target, 6), "epochs_to_target": e_mine,
                       "epochs_to_target_no_pruning": e_plain,
                       "epoch_ratio": round(e_plain / max(e_mine, 1), 3),
                       "time_ratio": round(t_plain / max(t_mine, 1e-9), 3),
                       "epochs_total": sum(r[0] for r in rows),
                       "total_epoch_ratio": round(out["epochs_total_no_pruning"] /
                                                  max(sum(r[0] for r in rows), 1), 3),
                       "trials_given": len(budget),
                       "best_of_all_trials": round(best(budget, sign), 6),
                       "epochs_to_unpruned_best": e_best if reached else None,
                       "epochs_to_unpruned_best_no_pruning": e_plain_best,
                       "best_epoch_ratio": round(e_plain_best / max(e_best, 1), 3)
                       if reached else 0.0,
                       "epochs_total_all_trials": sum(r[0] for r in budget),
                       "wall_s": round(wall, 1)}
    return out


def summary(runs: list[dict], pruners: list[str]) -> dict:
    """Medians over sampler seeds, per pruner."""
    found = {}
    for pruner in pruners:
        mine = [r[pruner] for r in runs]
        found[pruner] = {
            key: statistics.median(m[key] for m in mine)
            for key in ("epoch_ratio", "time_ratio", "total_epoch_ratio", "best_epoch_ratio")}
        found[pruner] = {f"median_{k}": v for k, v in found[pruner].items()}
        found[pruner]["seeds_best_kept"] = sum(m["best_kept"] for m in mine)
        found[pruner]["min_epoch_ratio"] = min(m["epoch_ratio"] for m in mine)
        found[pruner]["seeds_reaching_unpruned_best"] = sum(
            m["epochs_to_unpruned_best"] is not None for m in mine)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--pruned-trials", type=int, default=None,
                        help="Trials given to each pruned study (default 3 x --trials).")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--pruners", nargs="+", default=["median", "asha", "hyperband"])
    parser.add_argument("--science", default="toy")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--direction", default="minimize")
    parser.add_argument("--no-workers", action="store_true",
                        help="Skip the 2-worker study.")
    args = parser.parse_args()
    args.pruned_trials = args.pruned_trials or 3 * args.trials
    args.space_yaml = SPACE if args.science == "toy" else None
    if args.science == "toy" and not args.set:
        args.set = ["data.samples=512"]
    sign = 1.0 if args.direction == "minimize" else -1.0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = [compare(root / f"seed{s}", args, s, sign) for s in args.seeds]
        walls = {}
        if not args.no_workers:
            for workers in (1, 2):
                (root / f"w{workers}").mkdir()
                walls[workers], _ = study(root / f"w{workers}", args, f"w{workers}",
                                          args.pruners[0], workers, args.seeds[0])
    print(json.dumps({
        "science": args.science, "trials": args.trials, "pruned_trials": args.pruned_trials,
        "max_epochs": args.epochs,
        "sets": args.set, "seeds": args.seeds, "pruners": summary(runs, args.pruners),
        "per_seed": runs,
        "wall_1_worker_s": round(walls[1], 1) if walls else None,
        "wall_2_workers_s": round(walls[2], 1) if walls else None,
        "speedup_2_workers": round(walls[1] / walls[2], 3) if walls else None,
        "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
