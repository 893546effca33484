"""sbatch scripts rendered from resource requests: golden files, checks, quoting, and the
one declaration of the SLURM options."""

from __future__ import annotations

import importlib
import os
import subprocess
from dataclasses import fields
from pathlib import Path

import pytest
from dte_cli.backends.request import PANEL, SlurmOptions, merged
from dte_cli.backends.sites import ContainerProfile, PartitionLimits, SiteProfile
from dte_cli.backends.slurm import build, render, time_seconds
from dte_cli.backends.submit import worker_job
from dte_core.errors import ConfigError
from typer.main import get_command

GOLDEN = Path(__file__).parent / "golden"
SITE = SiteProfile(
    name="hpc", partition="gpu", account="proj123", modules=["cuda/12.4", "python/3.11"],
    setup=["source /opt/venvs/dte/bin/activate"], env={"HF_HOME": "/scratch/hf"},
    network_interface="ib0", gpus_per_node=4, python="/opt/venvs/dte/bin/python",
    partitions={"gpu": PartitionLimits(max_time="2-00:00:00", max_nodes=16, gpus_per_node=4),
                "cpu": PartitionLimits(max_time="12:00:00")},
)


PLAIN = SiteProfile(python="python3")


def request(site: SiteProfile = PLAIN, *, run_dirs=("/scratch/runs/toy/20260101-000000-abcd",),
            layout="torchrun", **options):
    opts = SlurmOptions(**{"time": "30:00", **options})
    return build(site, opts, job_name="dte-toy", run_dirs=list(run_dirs), layout=layout)


CASES = {
    "cpu-1node-2procs": dict(procs=2),
    "gpu-8nodes-4gpus-site": dict(site=SITE, nodes=8, time="1-00:00:00", mem="256G",
                                  env=["OMP_NUM_THREADS=8"]),
    "per-task-2nodes": dict(site=SITE, nodes=2, layout="per-task", partition="gpu"),
    "container-apptainer": dict(site=SITE.model_copy(update={"container": ContainerProfile(
        binds=["/scratch", "/data:/data:ro"])}), container="/images/dte.sif"),
    "array-3": dict(run_dirs=[f"/r/toy/20260101-000000-abcd-a{i}" for i in range(3)],
                    procs=1),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_scripts(case):
    options = dict(CASES[case])
    site = options.pop("site", PLAIN)
    script = render(request(site, **options))
    golden = GOLDEN / f"{case}.sbatch"
    if os.environ.get("DTE_REGEN_GOLDEN"):
        golden.write_text(script)
    assert script == golden.read_text(), f"rendering changed; regenerate deliberately with " \
                                         f"DTE_REGEN_GOLDEN=1 and review {golden}"
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_torchrun_layout_is_one_task_per_node_with_all_gpus():
    script = render(request(SITE, nodes=2))
    assert "#SBATCH --ntasks-per-node=1" in script and "#SBATCH --gpus-per-node=4" in script
    assert "--nproc-per-node 4" in script and "--cpus-per-task=4" in script
    per_task = render(request(SITE, nodes=2, layout="per-task"))
    assert "#SBATCH --ntasks-per-node=4" in per_task and "dte_core.worker" in per_task


def test_hostile_values_stay_inert(tmp_path):
    job = request(job_name="$(touch pwned)", env=["X=$(touch pwned2); `touch pwned3`"],
                  run_dirs=[str(tmp_path / "it's $(here)")], mem="4G")
    script = render(job)
    assert "#SBATCH --job-name='$(touch pwned)'" in script
    # the variable part of the script runs in bash without executing anything injected
    body = script.split("# rendezvous")[0]
    subprocess.run(["bash", "-c", body + '\necho "$X" > out'], cwd=tmp_path, check=True)
    assert not list(tmp_path.glob("pwned*"))
    assert (tmp_path / "out").read_text() == "$(touch pwned2); `touch pwned3`\n"


@pytest.mark.parametrize(("value", "seconds"), [("90", 5400), ("30:00", 1800),
                                                ("02:00:00", 7200), ("1-12", 129600),
                                                ("1-00:30", 88200), ("2-01:02:03", 176523)])
def test_time_formats(value, seconds):
    assert time_seconds(value) == seconds


@pytest.mark.parametrize(("overrides", "message"), [
    (dict(time="1h"), "is not a SLURM time limit"),
    (dict(nodes=0), "--nodes 0"),
    (dict(procs=0), "--procs 0"),
    (dict(gpus=-1), "--gpus -1"),
    (dict(mem="lots"), "--mem 'lots'"),
    (dict(env=["1BAD=x"]), "NAME=VALUE"),
    (dict(time="1:00"), "checkpoint grace"),
    (dict(site=SITE, procs=2, gpus=4), "disagree"),
    (dict(site=SITE, partition="nope"), "not one of the site 'hpc''s partitions: gpu, cpu"),
    (dict(site=SITE, partition="cpu", time="1-00:00:00"), "exceeds partition 'cpu''s limit"),
    (dict(site=SITE, nodes=32), "exceeds partition 'gpu''s limit of 16 nodes"),
    (dict(site=SITE, gpus=8), "exceeds partition 'gpu''s 4 GPUs per node"),
])
def test_bad_requests_name_the_fix(overrides, message):
    site = overrides.pop("site", PLAIN)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        request(site, **overrides)


def test_golden_tune_workers():
    """A study's workers: an array job, task i runs worker i with its --index from the task id."""
    args = ["--study", "s", "--storage", "journal:/p/.dte/hpo/s.journal", "--target", "4",
            "--sampler", "tpe", "--pruner", "median", "--grace", "30.0"]
    job = worker_job(PLAIN, SlurmOptions(time="30:00", env=["DTE_PROJECT_DIR=/p"]), study="s",
                     folder="/p/.dte/hpo/s", workers=3, worker_args=args, python="python3")
    script = render(job)
    golden = GOLDEN / "tune-workers-3.sbatch"
    if os.environ.get("DTE_REGEN_GOLDEN"):
        golden.write_text(script)
    assert script == golden.read_text(), f"rendering changed; regenerate deliberately with " \
                                         f"DTE_REGEN_GOLDEN=1 and review {golden}"
    assert "--index" not in script and "#SBATCH --array=0-2" in script
    assert "python3 -m dte_core.hpo.worker --study s" in script
    # on a GPU site each worker takes one GPU instead of clashing with the site's 4
    gpu = worker_job(SITE, SlurmOptions(), study="s", folder="/p/.dte/hpo/s", workers=2,
                     worker_args=args, python="python3")
    assert (gpu.gpus_per_node, gpu.procs_per_node, gpu.nodes) == (1, 1, 1)


COMMANDS = {"train": ("train", set()),
            "tune": ("tune", {"--nodes", "--array", "--task-layout"}),
            "scale": ("scale", {"--nodes", "--array", "--task-layout", "--check", "--remote",
                                "--sync-code", "--job-name"})}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_slurm_flags_come_from_the_one_declaration(name):
    module, omitted = COMMANDS[name]
    command = get_command(importlib.import_module(f"dte_cli.commands.{module}").app)
    if name == "tune":
        command = command.commands["run"]
    panel = {o for p in command.params if getattr(p, "rich_help_panel", None) == PANEL
             for o in p.opts}
    declared = {"--" + f.name.replace("_", "-") for f in fields(SlurmOptions)
                if "help" in f.metadata}
    assert panel - {"--per-node"} == declared - omitted


def test_help_shows_the_slurm_panel(dte):
    text = dte("train", "--help").stdout
    general, _, slurm_part = text.partition("\nSLURM:\n")
    assert "--backend" in general and "--nodes" not in general
    assert all(flag in slurm_part for flag in ("--nodes", "--remote", "--check", "--env"))


def test_site_defaults_fill_only_what_the_command_line_left_out():
    opts = SlurmOptions(partition="cpu", env=["B=2"], setup=["echo mine"])
    req = merged(SITE, opts)
    assert (req.partition, req.account, req.gpus, req.time) == ("cpu", "proj123", 4, "01:00:00")
    assert req.env == ["HF_HOME=/scratch/hf", "B=2"]
    assert req.setup == ["source /opt/venvs/dte/bin/activate", "echo mine"]
    assert merged(SITE, SlurmOptions(gpus=0)).gpus == 0  # an explicit 0 is kept


def test_options_as_arguments_for_another_command():
    opts = SlurmOptions(time="10", env=["A=1", "B=2"], sync_code=True, cpus_per_task=2)
    assert opts.argv() == ["--time", "10", "--cpus-per-task", "2", "--env", "A=1", "--env",
                           "B=2", "--sync-code"]
    assert opts.given() == ["--time", "--cpus-per-task", "--env", "--sync-code"]
