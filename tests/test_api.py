"""`import dte`: the Python API a notebook uses, run as a user's script would run it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from support import dte, dte_env

pytestmark = pytest.mark.slow


def script(code: str, cwd, timeout: float = 600) -> dict:
    """Run `code` in a fresh interpreter in `cwd`; the JSON it prints last."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                            capture_output=True, text=True, timeout=timeout, env=dte_env())
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_is_cheap_and_errors_are_one_class(tmp_path):
    got = script("""
        import json, sys
        import dte
        heavy = [m for m in ("torch", "mlflow", "optuna", "tensorflow", "pandas")
                 if m in sys.modules]
        errors = {}
        for call in (lambda: dte.train("no-such-science"),
                     lambda: dte.train("toy", procs=0),
                     lambda: dte.train("toy", set={"train.epochz": 1}),
                     lambda: dte.run("nope", runs_dir="runs")):
            try:
                call()
            except dte.DteError as exc:
                errors[len(errors)] = [type(exc).__name__, str(exc), exc.exit_code]
        print(json.dumps({"heavy": heavy, "errors": errors, "names": dir(dte)}))
    """, tmp_path)
    assert got["heavy"] == []
    assert len(got["errors"]) == 4
    unknown, procs, key, run = got["errors"].values()
    assert "no-such-science" in unknown[1] and unknown[2] == 2
    assert "--procs 1 or more" in procs[1]
    assert "epochz" in key[1]
    assert "No run 'nope'" in run[1]
    assert {"train", "Run", "load_model", "DteError"} <= set(got["names"])
    assert not (tmp_path / "runs").exists()  # nothing was created by the refused calls


def test_train_inspect_evaluate_register_load_predict(tmp_path):
    got = script("""
        import json
        import numpy as np
        import dte
        run = dte.train("toy", set={"train.epochs": 2, "tracking.log_every": 1})
        table = run.metrics()
        ev = run.evaluate()
        reg = run.register("toyapi", alias=["candidate"])
        model = dte.load_model("models:/toyapi@candidate")
        np.savez("x.npz", x=np.ones((3, 8), dtype="f4"))
        model.predict("y.npz", input="x.npz")
        same = dte.load_model(run.id).predict("z.npz", input="x.npz")
        two = dte.train("toy", set=["train.epochs=1"], procs=2)
        print(json.dumps({
            "status": run.status, "science": run.science, "epochs": run.config["train"]["epochs"],
            "columns": list(table.columns), "rows": len(table),
            "best": run.checkpoint("best").name, "n_ckpt": len(run.checkpoints),
            "ev": ev, "reg": reg, "models": dte.models(),
            "runs": [r.id for r in dte.runs("toy")], "latest": dte.run("latest").id,
            "two": [two.status, two.info.get("procs")],
            "y": np.load("y.npz")["y"].tolist(), "z": np.load("z.npz")["y"].tolist(),
            "repr": repr(run), "model": repr(model)}))
    """, tmp_path)
    assert got["status"] == "finished" and got["science"] == "toy" and got["epochs"] == 2
    assert {"step", "epoch", "train/loss", "val/loss"} <= set(got["columns"])
    assert got["rows"] > 2 and got["n_ckpt"] >= 1 and got["best"].startswith("step-")
    assert got["ev"]["mse"] >= 0 and (tmp_path / "runs" / "toy" / got["runs"][0] /
                                      "evaluation" / "report.txt").is_file()
    assert got["reg"]["version"] == "1" and got["reg"]["run_id"] == got["runs"][0]
    assert got["models"] == [{"name": "toyapi", "science": "toy", "versions": 1, "latest": 1,
                              "aliases": {"candidate": "1"}}]
    assert got["y"] == got["z"]  # the registered model is the run's model
    assert got["two"] == ["finished", 2]
    assert got["latest"] == got["runs"][-1] and len(got["runs"]) == 2
    assert "status='finished'" in got["repr"] and "models:/toyapi@candidate" in got["model"]
    # the command line sees what the API made, and the API what the command line makes
    shown = json.loads(dte("runs", "show", got["runs"][0], "--json", cwd=tmp_path).stdout)
    assert shown["status"] == "finished"


def test_tune_and_generate(tmp_path):
    got = script("""
        import json
        import dte
        summary = dte.generate("toy", "data", set={"data.samples": 16})
        report = dte.tune("toy", 2, study="s1", set={"train.epochs": 1}, seed=3)
        print(json.dumps({"summary": summary, "report": report}))
    """, tmp_path)
    assert got["summary"]["samples"] == 16 and (tmp_path / "data" / "toy.npz").is_file()
    report = got["report"]
    assert report["study"] == "s1" and report["states"].get("COMPLETE", 0) \
        + report["states"].get("PRUNED", 0) == 2
    assert report["best"]["value"] is not None and report["best"]["config"].endswith(".yaml")
