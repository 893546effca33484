"""The shipped presets resolve, validate and pick the networks they are for."""

import pytest
from dte_core.config import resolve
from dte_hep_3dgan import model
from dte_hep_3dgan.config import Hep3DGANConfig
from dte_hep_3dgan.validation import TARGETS, target_ratio, training_summary


def resolved(preset: str) -> Hep3DGANConfig:
    return resolve(Hep3DGANConfig, preset=preset)


def test_cpu_preset_trains_the_compact_networks_on_the_physics_targets():
    cfg = resolved("cpu")
    assert cfg.model.architecture == "compact"
    assert cfg.loss.transverse > 0 and cfg.loss.occupancy > 0
    assert cfg.train.checkpoint.best_monitor == "val/target_ratio"
    nets = model.build(cfg)
    paper = model.build(resolved("full"))
    assert model.parameters(nets["discriminator"]) < model.parameters(paper["discriminator"])


def test_full_preset_is_the_paper_architecture():
    cfg = resolved("full")
    assert cfg.model.architecture == "paper" and cfg.model.latent_dim == 254
    assert 1.30e6 < model.parameters(model.build(cfg)["generator"]) < 1.42e6


@pytest.mark.parametrize("name", ["cpu", "full"])
def test_presets_say_what_they_are_for(name):
    from dte_core import presets

    found = presets.available(Hep3DGANConfig)[name]
    assert found.path.read_text().startswith("# ") and len(found.summary) > 20


def test_training_summary_masks_bins_below_a_share_of_the_maximum():
    means = {"deposit_ratio_real": 0.02, "deposit_ratio_fake": 0.021,
             "occupancy_real": 1000.0, "occupancy_fake": 800.0}
    for part, n in (("profile", 25), ("x_profile", 51), ("y_profile", 51)):
        for i in range(n):
            real = 1.0 if i == 3 else 1e-4  # one bin far above 1 % of the maximum
            means[f"_{part}/real_{i:02d}"] = real
            means[f"_{part}/fake_{i:02d}"] = real * (1.1 if i == 3 else 5.0)
    for b in range(5):
        means[f"_bin/{b}"] = 0.2 if b < 4 else 0.0  # the last Ep bin holds no shower
        means[f"_deposit_bin/real_{b}"] = 0.004 if b < 4 else 0.0
        means[f"_deposit_bin/fake_{b}"] = 0.004 * (1 + 0.05 * b) if b < 4 else 0.0
    out = training_summary(means, 0.01)
    assert out["longitudinal_max_rel_diff"] == pytest.approx(0.1)
    assert out["transverse_x_max_rel_diff"] == pytest.approx(0.1)
    assert out["deposit_ratio_max_rel_diff"] == pytest.approx(0.15)
    assert out["occupancy_rel_diff"] == pytest.approx(-0.2)
    assert out["target_ratio"] == pytest.approx(1.0) == target_ratio(out)
    assert set(TARGETS) <= set(out)
