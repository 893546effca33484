"""Preprocessing, the 3DGAN networks and one real training step of the Task (no Trainer)."""

import numpy as np
import pytest
import torch
from dte_core.errors import DteError
from dte_hep_3dgan import files, gflash, model
from dte_hep_3dgan.config import Hep3DGANConfig
from dte_hep_3dgan.data import ShowerDataset, Transform, open_split, split
from dte_hep_3dgan.files import ShowerFile
from dte_hep_3dgan.task import RunningProfiles, ShowerGAN


@pytest.fixture(scope="module")
def shower_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "s.h5"
    files.write(path, *gflash.block(0, 10, 5, (10.0, 100.0), (70.0, 110.0)))
    return path


def test_transform_round_trip():
    t = Transform(threshold=1e-4, scale=2.0, power=0.85)
    gev = np.array([0.0, 5e-5, 1e-3, 0.5], np.float32)
    x = t.forward(gev)
    assert x[1] == 0  # below the threshold
    back = t.inverse(torch.from_numpy(x)).numpy()
    assert np.allclose(back, [0, 0, 1e-3, 0.5], rtol=1e-5)


def test_dataset_items_and_split(shower_file):
    cfg = Hep3DGANConfig()
    train = open_split(shower_file, cfg.data, "train")
    val = open_split(shower_file, cfg.data, "val")
    assert (len(train), len(val)) == (8, 2) and list(val.indices) == [8, 9]
    item = train[3]
    assert item["ecal"].shape == (1, 51, 51, 25) and item["ecal"].dtype == torch.float32
    raw = train.file.read(3)
    assert item["deposit"].item() == pytest.approx(raw[raw >= 1e-6].sum(), rel=1e-5)
    assert item["energy"].item() == pytest.approx(train.file.energy[3])
    assert 70 <= np.degrees(item["theta"].item()) <= 110


def test_too_few_showers_to_split():
    with pytest.raises(DteError, match="too few"):
        split(1, 0.2)


def test_nan_cells_are_reported(tmp_path):
    ecal, energy, theta = gflash.block(0, 2, 1, (10.0, 20.0), (80.0, 100.0))
    ecal[1, 3, 3, 3] = np.nan
    files.write(tmp_path / "nan.h5", ecal, energy, theta)
    dataset = ShowerDataset(ShowerFile(tmp_path / "nan.h5"), range(2), Transform())
    dataset[0]
    with pytest.raises(DteError, match="Shower 1 .* 1 NaN or infinite cell"):
        dataset[1]


def test_network_sizes_and_shapes():
    nets = model.build(Hep3DGANConfig())
    gen, disc = nets["generator"], nets["discriminator"]
    assert 1.30e6 < model.parameters(gen) < 1.42e6
    assert 80_000 < model.parameters(disc) - model.parameters(disc.angle) < 95_000
    cond = model.conditions(torch.tensor([10.0, 200.0]), torch.tensor([1.2, 1.9]), 100.0)
    x = gen(torch.randn(2, 254), cond)
    assert x.shape == (2, 1, 51, 51, 25) and (x >= 0).all()
    logit, energy, angle, deposit = disc(x)
    assert logit.shape == energy.shape == angle.shape == deposit.shape == (2,)
    no_angle = model.build(Hep3DGANConfig.model_validate({"model": {"angle_head": False}}))
    assert no_angle["discriminator"](x)[2] is None


def test_compact_networks_keep_the_contract_at_a_fraction_of_the_cost():
    cfg = Hep3DGANConfig.model_validate({"model": {"architecture": "compact", "latent_dim": 16}})
    nets = model.build(cfg)
    gen, disc = nets["generator"], nets["discriminator"]
    paper = model.build(Hep3DGANConfig())
    assert model.parameters(disc) < model.parameters(paper["discriminator"]) / 3
    x = gen(torch.randn(2, 16), model.conditions(torch.tensor([10.0, 200.0]),
                                                 torch.tensor([1.2, 1.9]), 100.0))
    assert x.shape == (2, 1, 51, 51, 25) and (x >= 0).all()
    logit, energy, angle, deposit = disc(x)
    assert logit.shape == energy.shape == angle.shape == deposit.shape == (2,)


def test_smooth_hit_count_follows_the_threshold():
    from dte_hep_3dgan.task import smooth_hits

    gev = torch.zeros(1, 1, 51, 51, 25)
    gev[0, 0, :10, 0, 0] = 1e-3  # ten cells far above 1e-5 GeV
    gev[0, 0, :10, 1, 0] = 1e-7  # ten far below
    assert smooth_hits(gev).item() == pytest.approx(10, abs=0.01)


class StepCtx:
    """What the Trainer's StepContext does with one process and no accumulation."""

    def __init__(self, optimizers):
        self.optimizers, self.order = optimizers, []

    def optimize(self, name, loss):
        self.order.append(name)
        loss.backward()
        self.optimizers[name].step()
        self.optimizers[name].zero_grad(set_to_none=True)


@pytest.mark.slow
def test_running_transverse_loss_scores_the_metric_cells_without_the_noise_of_one_batch():
    torch.manual_seed(0)
    shape = torch.exp(-torch.linspace(-4, 4, 51).pow(2) / 2)  # tails far below 1 % of the peak

    def batch(scale: float = 1.0) -> torch.Tensor:  # 16 showers fluctuating around `shape`
        return shape * scale * torch.distributions.Gamma(2.0, 2.0).sample((16, 51))

    same, low_tails = RunningProfiles(), RunningProfiles()
    for _ in range(200):
        noisy = batch()
        same_loss = same.loss("x", noisy.mean(0, keepdim=True).expand(16, -1), batch())
        tails = torch.where(shape < 0.1, 0.5, 1.0)  # generated tails at half the real ones
        low_loss = low_tails.loss("x", shape * tails * torch.ones(16, 1), batch())
    assert same_loss.item() * 0.1 < 0.1  # the running means agree once the noise averages out
    assert low_loss.item() * 0.1 > 0.2  # a real deficit in the scored tail cells stays visible
    scored = same.real["x"] >= 0.01 * same.real["x"].max()
    assert 10 < int(scored.sum()) < 51  # far tails are left out, as the metric leaves them


@pytest.mark.filterwarnings("ignore::UserWarning")  # schedulers stepped without training
def test_cosine_schedule_decays_both_rates_to_the_final_fraction():
    cfg = Hep3DGANConfig.model_validate({
        "model": {"architecture": "compact"}, "train": {"epochs": 5},
        "optim": {"schedule": "cosine", "final_lr_fraction": 0.2}})
    task = ShowerGAN(cfg)
    optimization = task.configure_optimizers(task.configure_models())
    rates = []
    for _ in range(5):
        rates.append(optimization.optimizers["generator"].param_groups[0]["lr"])
        for scheduler in optimization.schedulers.values():
            scheduler.step()
    assert rates[0] == pytest.approx(cfg.optim.generator_lr)
    assert rates[-1] == pytest.approx(0.2 * cfg.optim.generator_lr)
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False))
    assert optimization.schedulers["discriminator"].get_last_lr()[0] == pytest.approx(
        0.2 * cfg.optim.discriminator_lr)


@pytest.mark.parametrize("settings", [
    {},
    {"model": {"architecture": "compact", "latent_dim": 16},
     "loss": {"transverse": 2.0, "occupancy": 1.0}, "data": {"power": 0.5}},
], ids=["paper", "compact-with-shape-losses"])
def test_training_step_updates_both_networks_in_turn(shower_file, settings):
    cfg = Hep3DGANConfig.model_validate({**settings, "data": {**settings.get("data", {}),
                                                              "path": str(shower_file)}})
    torch.manual_seed(0)
    task = ShowerGAN(cfg)
    nets = task.configure_models()
    opt = task.configure_optimizers(nets)
    data = task.train_dataset()
    assert task._plain["generator"].domain[1] == pytest.approx(data.file.energy[:8].max())
    task.models = nets
    batch = task.collate([data[i] for i in range(2)])
    before = {k: [p.detach().clone() for p in m.parameters()] for k, m in nets.items()}
    ctx = StepCtx(opt.optimizers)
    metrics = task.training_step(batch, ctx)
    assert ctx.order == ["discriminator", "generator"]
    for name, net in nets.items():
        changed = any(not torch.equal(a, p) for a, p in zip(before[name], net.parameters(),
                                                             strict=True))
        assert changed, f"{name} was not updated"
        # the generator's step must leave no gradient in the discriminator (and vice versa)
        assert all(p.grad is None for p in net.parameters())
        assert all(p.requires_grad for p in net.parameters())
    assert {"d_loss", "g_loss", "g_deposit", "g_profile", "g_transverse",
            "g_occupancy"} <= set(metrics)
    assert all(torch.isfinite(v) and not v.requires_grad for v in metrics.values())
    weighted = cfg.loss.transverse > 0
    assert (metrics["g_transverse"] > 0) == weighted and (metrics["g_occupancy"] > 0) == weighted
    for net in nets.values():
        net.eval()
    with torch.no_grad():
        means = {k: v.item() for k, v in task.validation_step(batch).items()}
    summary = task.validation_summary(means)
    assert summary["profile_max_rel_diff"] >= 0 and summary["deposit_ratio_rel_diff"] >= 0
    for key in ("longitudinal_max_rel_diff", "transverse_x_max_rel_diff",
                "transverse_y_max_rel_diff", "deposit_ratio_max_rel_diff"):
        assert summary[key] >= 0, key
    assert summary["profile_max_rel_diff"] == summary["longitudinal_max_rel_diff"]
    assert summary["target_ratio"] >= summary["longitudinal_max_rel_diff"] / 0.25
