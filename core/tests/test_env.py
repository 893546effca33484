"""Cluster environment detection from launcher variables (plain dicts, as the launchers set)."""

import subprocess

import pytest
from dte_core.env import (
    detect,
    expand_hostlist,
    first_slurm_host,
    recorded_variables,
    slurm_port,
    slurm_port_shell,
    tasks_per_node,
)
from dte_core.errors import ConfigError


def test_no_launcher_is_one_process():
    env = detect({})
    assert (env.launcher, env.rank, env.world_size, env.distributed) == ("none", 0, 1, False)


def test_torchrun_variables():
    env = detect({"TORCHELASTIC_RUN_ID": "x", "RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "8",
                  "LOCAL_WORLD_SIZE": "4", "GROUP_RANK": "0", "MASTER_ADDR": "n1",
                  "MASTER_PORT": "29400", "SLURM_PROCID": "0", "SLURM_NTASKS": "2"})
    assert env.launcher == "torchrun"  # torchrun inside a SLURM allocation wins
    assert (env.rank, env.local_rank, env.world_size, env.master_addr) == (3, 1, 8, "n1")


def test_srun_tasks():
    env = detect({"SLURM_PROCID": "5", "SLURM_LOCALID": "1", "SLURM_NTASKS": "8",
                  "SLURM_NODEID": "2", "SLURM_JOB_NODELIST": "gpu[07-10],cpu01",
                  "SLURM_JOB_ID": "123456"})
    assert (env.launcher, env.rank, env.local_rank, env.node_rank) == ("slurm", 5, 1, 2)
    assert env.master_addr == "gpu07"
    assert env.master_port == slurm_port({"SLURM_JOB_ID": "123456"}) == 20000 + 123456 % 20000


def test_single_task_slurm_job_is_not_distributed():
    assert detect({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}).launcher == "none"


def test_mpi_variables():
    env = detect({"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2",
                  "OMPI_COMM_WORLD_LOCAL_RANK": "1"})
    assert (env.launcher, env.rank, env.world_size, env.local_rank) == ("mpi", 1, 2, 1)


def test_node_list_forms():
    assert first_slurm_host({"SLURM_JOB_NODELIST": "node12"}) == "node12"
    assert first_slurm_host({"SLURM_NODELIST": "a[3,5-6]"}) == "a3"
    assert first_slurm_host({"SLURM_JOB_NODELIST": "r[2-3]n[07-08]"}) == "r2n07"
    assert first_slurm_host({}) != ""  # outside SLURM: this host


@pytest.mark.parametrize(("text", "hosts"), [
    ("", []),
    ("login1", ["login1"]),
    ("gpu[01-03,07],login1", ["gpu01", "gpu02", "gpu03", "gpu07", "login1"]),
    ("a[1-2]b[3-4]", ["a1b3", "a1b4", "a2b3", "a2b4"]),
    ("n[008-011]", ["n008", "n009", "n010", "n011"]),  # padding follows the lower bound
    ("n[8-10]", ["n8", "n9", "n10"]),
    ("cpu[1-2]-ib,gpu[3],x[09-10]y", ["cpu1-ib", "cpu2-ib", "gpu3", "x09y", "x10y"]),
    ("a[1,3]b[1-2],c", ["a1b1", "a1b2", "a3b1", "a3b2", "c"]),
])
def test_expand_hostlist(text, hosts):
    assert expand_hostlist(text) == hosts


@pytest.mark.parametrize("text", ["gpu[01-03", "gpu01]", "a[[1]]", "a[x-2]", "a[3-1]", "a[]"])
def test_malformed_hostlists_name_the_form(text):
    with pytest.raises(ConfigError, match="not in SLURM's form"):
        expand_hostlist(text)


def test_tasks_per_node():
    assert tasks_per_node("2(x3),1") == [2, 2, 2, 1]
    assert tasks_per_node("4") == [4]
    with pytest.raises(ConfigError, match="SLURM_TASKS_PER_NODE"):
        tasks_per_node("2(x)")


@pytest.mark.parametrize("job_id", [0, 1, 19999, 20000, 123456, 4294967295])
def test_sbatch_port_rule_is_slurm_port(job_id):
    """The bash the sbatch script runs gives the port Python derives: one rule, two forms."""
    done = subprocess.run(["bash", "-c", f"echo {slurm_port_shell()}"], capture_output=True,
                          text=True, check=True, env={"SLURM_JOB_ID": str(job_id)})
    assert int(done.stdout) == slurm_port({"SLURM_JOB_ID": str(job_id)})


def test_recorded_variables_keep_launch_context_only():
    kept = recorded_variables({"SLURM_JOB_ID": "1", "RANK": "0", "HOME": "/root", "PATH": "x"})
    assert kept == {"RANK": "0", "SLURM_JOB_ID": "1"}
