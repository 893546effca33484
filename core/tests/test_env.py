"""Cluster environment detection from launcher variables (plain dicts, as the launchers set)."""

from dte_core.env import detect, first_slurm_host, recorded_variables, slurm_port


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


def test_recorded_variables_keep_launch_context_only():
    kept = recorded_variables({"SLURM_JOB_ID": "1", "RANK": "0", "HOME": "/root", "PATH": "x"})
    assert kept == {"RANK": "0", "SLURM_JOB_ID": "1"}
