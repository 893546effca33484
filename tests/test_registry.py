"""Model registry: register -> load -> predict, aliases, a real server, export, concurrency."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from support import DTE, dte, dte_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project with two trained toy runs and an input file (shared: names differ per test)."""
    tmp_path = tmp_path_factory.mktemp("registry")
    for epochs in ("1", "2"):
        result = dte("train", "toy", "--set", f"train.epochs={epochs}", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    np.savez(tmp_path / "x.npz", x=np.random.default_rng(0).normal(size=(5, 8)).astype("f4"))
    return tmp_path


def runs(cwd):
    return sorted(p.parent.name for p in (cwd / "runs" / "toy").glob("*/run.json"))


def predict(cwd, source, out, **env):
    flag = "--model" if source.startswith("models:") else "--run"
    result = dte("predict", "toy", flag, source, "--input", "x.npz", "--output", out, cwd=cwd,
                 **env)
    assert result.returncode == 0, result.stderr
    return np.load(cwd / out)["y"]


def test_register_load_predict_and_aliases(project):
    first, second = runs(project)
    reg = dte("register", first, "--json", "--name", "toyreg", "--alias", "production",
              "--tag", "owner=ci", "--description", "first", cwd=project)
    assert reg.returncode == 0, reg.stderr
    assert json.loads(reg.stdout)["version"] == "1"
    assert np.array_equal(predict(project, "models:/toyreg@production", "a.npz"),
                          predict(project, first, "b.npz"))
    # a second version takes the alias; the first stays loadable by number and a new alias
    assert dte("register", second, "--name", "toyreg", "--alias", "production",
               cwd=project).returncode == 0
    assert dte("models", "alias", "toyreg", "1", "previous", cwd=project).returncode == 0
    shown = json.loads(dte("models", "show", "toyreg", "--json", cwd=project).stdout)
    assert shown["aliases"] == {"production": "2", "previous": "1"}
    assert shown["versions"][0]["tags"] == {"owner": "ci"}
    assert np.array_equal(predict(project, "models:/toyreg/1", "c.npz"),
                          predict(project, first, "d.npz"))
    assert dte("models", "unalias", "toyreg", "previous", cwd=project).returncode == 0
    listed = json.loads(dte("models", "list", "--json", cwd=project).stdout)
    assert listed == [{"name": "toyreg", "versions": 2, "latest": 2,
                       "aliases": "production->v2", "science": "toy"}]


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_reproduces_the_model(project, fmt):
    first = runs(project)[0]
    assert dte("register", first, "--name", "toyexp", cwd=project).returncode == 0
    result = dte("export", "models:/toyexp/1", "--json", "--format", fmt, "--out", f"m.{fmt}",
                 cwd=project)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["max_abs_diff"] <= 1e-4  # stated tolerance: 1e-4


def test_concurrent_registrations_get_two_versions(project):
    first, second = runs(project)
    procs = [subprocess.Popen([DTE, "register", run, "--name", "racing", "--json"], cwd=project,
                              env=dte_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for run in (first, second)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    versions = sorted(json.loads(out)["version"] for out, _ in outs)
    assert versions == ["1", "2"]
    for version in versions:
        predict(project, f"models:/racing/{version}", f"v{version}.npz")


def test_real_server(project, live_mlflow_server):
    first = runs(project)[0]
    reg = dte("register", first, "--name", "served", "--alias", "prod", cwd=project,
              DTE_TRACKING_URI=live_mlflow_server.uri)
    assert reg.returncode == 0, reg.stderr
    got = predict(project, "models:/served@prod", "s.npz",
                  DTE_TRACKING_URI=live_mlflow_server.uri)
    assert np.array_equal(got, predict(project, first, "t.npz"))
    embedded = json.loads(dte("models", "list", "--json", cwd=project).stdout)
    assert "served" not in [m["name"] for m in embedded]  # it went to the server only


def assert_error(result, *needles):
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    text = " ".join(result.stderr.split())
    for needle in needles:
        assert needle in text, text


def test_bad_references_and_inputs(project):
    first = runs(project)[0]
    assert dte("register", first, "--name", "known", "--alias", "prod",
               cwd=project).returncode == 0
    base = ["predict", "toy", "--input", "x.npz", "--output", "o.npz", "--model"]
    assert_error(dte(*base, "models:known", cwd=project), "does not parse")
    assert_error(dte(*base, "models:/unknown@prod", cwd=project), "Registered models: known")
    assert_error(dte(*base, "models:/known/7", cwd=project), "has versions 1")
    assert_error(dte(*base, "models:/known@staging", cwd=project), "Its aliases: prod -> v1")
    assert_error(dte("predict", "virgo-gw", "--model", "models:/known@prod", "--output", "o",
                     cwd=project), "registered by the science 'toy'")
    np.savez(project / "wrong.npz", x=np.zeros((3, 5), dtype="f4"))
    assert_error(dte("predict", "toy", "--model", "models:/known@prod", "--input", "wrong.npz",
                     "--output", "o.npz", cwd=project), "has shape (3, 5)")
    empty = project / "runs" / "toy" / "20260101-000000-none"
    empty.mkdir()
    (empty / "run.json").write_text(json.dumps({"science": "toy"}))
    assert_error(dte("register", empty.name, "--name", "x", cwd=project),
                 "has no complete checkpoint")
