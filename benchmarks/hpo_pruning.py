"""What pruning and a second worker buy in `dte tune`, measured on the toy science.

Three studies with the same seeded TPE sampler and search space: (a) no pruning, 1 worker;
(b) median pruning, 1 worker; (c) median pruning, 2 workers. For (a) and (b) it counts the
training epochs spent, in trial order, until the study first reaches the value that both
reach (the worse of their two bests); and the wall-clock speed-up of (c) over (b).

With several `--seeds` the (a)/(b) pair is repeated per sampler seed (where the best trial
falls in the order decides much of the ratio) and the median ratio is reported too.

Prints {"epochs_no_pruning", "epochs_pruning", "epoch_ratio", "wall_1_worker_s",
"wall_2_workers_s", "speedup_2_workers", "per_seed", ...}.
Usage: uv run python benchmarks/hpo_pruning.py [--trials 16] [--epochs 8] [--seeds 7 8 9]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPACE = "optim.lr: {low: 1.0e-5, high: 0.5, log: true}\nmodel.hidden: {low: 4, high: 64}\n"


def study(project: Path, name: str, trials: int, epochs: int, pruner: str, workers: int,
          seed: int = 7) -> tuple[float, list[tuple[int, float | None]]]:
    """Run one study; (wall seconds, [(epochs trained, value or None)] in trial order)."""
    dte = str(Path(sys.executable).with_name("dte"))
    (project / "space.yaml").write_text(SPACE)
    start = time.perf_counter()
    subprocess.run([dte, "tune", "toy", "--trials", str(trials), "--workers", str(workers),
                    "--study", name, "--pruner", pruner, "--seed", str(seed), "--space",
                    str(project / "space.yaml"), "--set", f"train.epochs={epochs}",
                    "--set", "data.samples=512"],
                   cwd=project, check=True, capture_output=True, env={
                       **os.environ, "DTE_PROJECT_DIR": str(project)})
    wall = time.perf_counter() - start
    import optuna
    from dte_core.hpo.study import open_storage

    loaded = optuna.load_study(study_name=name, storage=open_storage(
        f"journal:{project / '.dte' / 'hpo' / (name + '.journal')}"))
    rows = []
    for trial in sorted(loaded.trials, key=lambda t: t.number):
        run = json.loads((Path(trial.user_attrs["run_dir"]) / "run.json").read_text())
        trained = run["epoch"] + 1 if run["status"] == "pruned" else run["epoch"]
        rows.append((trained, trial.value if trial.state.name == "COMPLETE" else None))
    return wall, rows


def epochs_to_reach(rows: list[tuple[int, float | None]], target: float) -> int:
    spent = 0
    for trained, value in rows:
        spent += trained
        if value is not None and value <= target:
            return spent
    return spent


def compare(root: Path, trials: int, epochs: int, seed: int) -> dict:
    """Studies (a) and (b) with one sampler seed: epochs to reach the value both reach."""
    for sub in ("a", "b"):
        (root / sub).mkdir(parents=True)
    wall_a, plain = study(root / "a", "plain", trials, epochs, "none", 1, seed)
    wall_b, pruned = study(root / "b", "pruned", trials, epochs, "median", 1, seed)
    best_plain = min(v for _, v in plain if v is not None)
    best_pruned = min(v for _, v in pruned if v is not None)
    target = max(best_plain, best_pruned)
    spent_plain, spent_pruned = epochs_to_reach(plain, target), epochs_to_reach(pruned, target)
    return {"seed": seed, "target_value": round(target, 6),
            "best_no_pruning": round(best_plain, 6), "best_pruning": round(best_pruned, 6),
            "epochs_no_pruning": spent_plain, "epochs_pruning": spent_pruned,
            "epoch_ratio": round(spent_plain / max(spent_pruned, 1), 3),
            "epochs_total_no_pruning": sum(e for e, _ in plain),
            "epochs_total_pruning": sum(e for e, _ in pruned),
            "wall_no_pruning_s": round(wall_a, 1), "wall_1_worker_s": round(wall_b, 1)}


def main() -> None:
    import statistics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = [compare(root / f"seed{s}", args.trials, args.epochs, s) for s in args.seeds]
        (root / "c").mkdir()
        wall_c, _ = study(root / "c", "pruned2", args.trials, args.epochs, "median", 2,
                          args.seeds[0])
    first = runs[0]
    print(json.dumps({
        "trials": args.trials, "max_epochs": args.epochs, **first,
        "median_epoch_ratio": statistics.median(r["epoch_ratio"] for r in runs),
        "median_total_epoch_ratio": statistics.median(
            r["epochs_total_no_pruning"] / max(r["epochs_total_pruning"], 1) for r in runs),
        "per_seed": runs if len(runs) > 1 else None,
        "wall_2_workers_s": round(wall_c, 1),
        "speedup_2_workers": round(first["wall_1_worker_s"] / wall_c, 3),
        "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
