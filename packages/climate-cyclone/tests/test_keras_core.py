"""dte_core.keras: TF_CONFIG from launchers, strategy names, and the trainer on 1 vs 2
replicas with checkpoints (TensorFlow runs in a subprocess, never in the pytest process,
which may hold torch)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from dte_core import strategies
from dte_core.env import ClusterEnv, detect
from dte_core.errors import ConfigError
from dte_core.keras.cluster import tf_config
from dte_core.keras.data import BatchPlan, val_shard


def test_tf_config_for_torchrun_on_one_node():
    env = detect({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
                  "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29400"})
    config = tf_config(env, {})
    assert config == {"cluster": {"worker": ["127.0.0.1:29401", "127.0.0.1:29402"]},
                      "task": {"type": "worker", "index": 1}}
    assert tf_config(ClusterEnv(launcher="none"), {}) == {}
    assert tf_config(env, {"TF_CONFIG": '{"task": {"index": 3}}'}) == {"task": {"index": 3}}


def test_tf_config_for_slurm_tasks_and_torchrun_per_node():
    slurm = {"SLURM_PROCID": "3", "SLURM_NTASKS": "4", "SLURM_LOCALID": "1",
             "SLURM_NODEID": "1", "SLURM_NTASKS_PER_NODE": "2", "SLURM_TASKS_PER_NODE": "2(x2)",
             "SLURM_JOB_NODELIST": "cn[07-08]", "SLURM_JOB_ID": "42"}
    config = tf_config(detect(slurm), slurm)
    assert config["cluster"]["worker"] == ["cn07:20043", "cn07:20044", "cn08:20043",
                                           "cn08:20044"]
    assert config["task"]["index"] == 3
    # torchrun per node: the index follows SLURM's node order, not torchrun's group rank
    torchrun = {"RANK": "0", "WORLD_SIZE": "4", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2",
                "GROUP_RANK": "0", "SLURM_NODEID": "1", "MASTER_ADDR": "cn07",
                "MASTER_PORT": "29500", "SLURM_JOB_NODELIST": "cn[07-08]"}
    config = tf_config(detect(torchrun), torchrun)
    assert config["task"]["index"] == 2 and config["cluster"]["worker"][2] == "cn08:29501"
    del torchrun["SLURM_JOB_NODELIST"]
    with pytest.raises(ConfigError, match="export TF_CONFIG"):
        tf_config(detect(torchrun), torchrun)


def test_strategy_names():
    one, two = ClusterEnv(launcher="none"), ClusterEnv(launcher="torchrun", world_size=2,
                                                       local_world_size=2)
    def resolve(name, env):
        return strategies.resolve_name(name, env, "tensorflow")

    assert resolve("auto", one) == "mirrored"
    assert resolve("auto", two) == "multiworker"
    assert resolve("single", one) == "tf-single"
    assert strategies.create("tf-single", one, "tensorflow").name == "tf-single"
    with pytest.raises(ConfigError, match="'ddp' .* is a PyTorch strategy; a TensorFlow"):
        resolve("ddp", one)
    with pytest.raises(ConfigError, match="not a strategy.*mirrored, multiworker"):
        resolve("horovd", one)
    strategies.check_name("multiworker")  # the CLI accepts the TensorFlow names
    with pytest.raises(ConfigError, match="is a TensorFlow strategy; a PyTorch science"):
        strategies.resolve_name("mirrored", one)


def test_batch_plan_gives_each_replica_its_share_of_the_global_batch():
    order = list(range(100, 124))
    plan = BatchPlan(24, 8, replicas=4, worker=1, local_replicas=2)
    shares = [list(s) for s in plan.train(order, skip_steps=1)]
    assert shares == [[112, 113], [114, 115], [120, 121], [122, 123]]
    with pytest.raises(ConfigError, match="batch_size=10 cannot be split evenly over 4"):
        BatchPlan(24, 10, replicas=4, worker=0, local_replicas=4)
    assert [list(v) for v in val_shard(5, 1, 2, 2)] == [[2, 3], [4]]


SCRIPT = textwrap.dedent('''
    import json, os, sys, tempfile
    from pathlib import Path
    import numpy as np
    from dte_core.keras.runtime import tensorflow, keras
    tf, keras = tensorflow(), keras()
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from dte_core.env import ClusterEnv
    from dte_core import checkpoint as ck
    from dte_core import strategies
    from dte_core.keras.task import KerasTask, Source
    from dte_core.keras.trainer import KerasTrainer
    from dte_core.schemas import TrainConfig
    from dte_core.tracking import Logger

    class Arrays(Source):
        def __init__(self, n, seed):
            rng = np.random.default_rng(seed)
            self.x = rng.normal(size=(n, 3)).astype("float32")
            self.y = (self.x @ np.array([1.0, -2.0, 0.5], "float32"))[:, None]
        def __len__(self):
            return len(self.x)
        def read(self, idx, epoch):
            return self.x[idx], self.y[idx]

    class Linear(KerasTask):
        def configure_models(self):
            x = keras.Input((3,))
            return {"net": keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(4)(x)))}
        def configure_optimizers(self, models):
            return {"adam": keras.optimizers.Adam(0.05)}
        def train_source(self):
            return Arrays(48, 1)
        def val_source(self):
            return Arrays(10, 2)
        def compute_loss(self, batch, training):
            x, y = batch
            loss = tf.reduce_mean((self.models["net"](x, training=training) - y) ** 2)
            return loss, {"abs": tf.reduce_mean(tf.abs(self.models["net"](x) - y))}

    def fit(devices, epochs, root, resume=None):
        env = ClusterEnv(launcher="none")
        strategy = strategies.create("tf-single" if devices == 1 else "mirrored", env,
                                     "tensorflow")
        strategy.setup()
        if devices == 2:
            strategy.tf_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        cfg = TrainConfig(epochs=epochs, batch_size=8)
        task = Linear(None)
        trainer = KerasTrainer(task, cfg, strategy, Logger([]), root, "linear", log_every=2)
        result = trainer.fit(resume)
        weights = [v.numpy().tolist() for v in task.models["net"].weights]
        iterations = int(task.optimizers["adam"].iterations.numpy())
        return result, weights, iterations, strategy.num_replicas

    out = {}
    tmp = Path(sys.argv[1])
    r1, w1, it1, n1 = fit(1, 3, tmp / "one")
    r2, w2, it2, n2 = fit(2, 3, tmp / "two")
    out["replicas"] = [n1, n2]
    out["steps"] = [r1.step, r2.step, it1, it2]
    out["max_weight_diff"] = max(float(np.max(np.abs(np.array(a) - np.array(b))))
                                 for a, b in zip(w1, w2))
    out["val"] = [r1.metrics.get("val/loss"), r2.metrics.get("val/loss")]
    # resume: 2 epochs, then a third from the checkpoint, equals 3 straight epochs
    fit(1, 2, tmp / "resumed")
    last = ck.latest(tmp / "resumed")
    out["meta"] = json.loads((last / "meta.json").read_text())
    r3, w3, it3, _ = fit(1, 3, tmp / "resumed", resume=last)
    out["resumed_step"] = [r3.step, it3]
    out["resume_weight_diff"] = max(float(np.max(np.abs(np.array(a) - np.array(b))))
                                    for a, b in zip(w1, w3))
    out["kept"] = sorted(p.name for p in ck.complete(tmp / "resumed"))
    print("RESULT " + json.dumps(out))
''')


@pytest.mark.slow
def test_trainer_one_vs_two_replicas_and_resume(tmp_path):
    """Two replicas of one global batch make the same update as one; a resumed run ends
    where an uninterrupted one does; checkpoints carry .weights.h5, optimizer state and
    meta.json."""
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line.removeprefix("RESULT "))
    assert out["replicas"] == [1, 2]
    assert out["steps"] == [18, 18, 18, 18]
    assert out["max_weight_diff"] < 1e-5
    assert out["val"][0] == pytest.approx(out["val"][1], rel=1e-4)
    meta = out["meta"]
    assert meta["framework"] == "tensorflow" and meta["step"] == 12 and meta["epoch"] == 2
    assert {"model-net.weights.h5", "optimizer-adam.npz", "trainer.json"} <= set(meta["files"])
    assert out["resumed_step"] == [18, 18]
    assert out["resume_weight_diff"] < 1e-5
    assert out["kept"] == ["step-00000006", "step-00000012", "step-00000018"]
