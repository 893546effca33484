"""Q-transform maps, the linear baseline and the held-out metrics, on known inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dte_virgo_gw.baseline import LinearBaseline, lagged
from dte_virgo_gw.config import DataConfig, VirgoConfig
from dte_virgo_gw.qtransform import MapSpec, channel_map, part_map
from dte_virgo_gw.validation import batch_metrics, floor_of, summary


def spec(norm="median") -> MapSpec:
    return MapSpec(2048.0, 0.5, 2.0, (12.0, 12.0), (8.0, 500.0), (64, 64), norm)


def test_a_sine_gaussian_lands_on_its_frequency_and_time():
    s = spec()
    t = np.arange(int(3 * 2048)) / 2048
    rng = np.random.default_rng(0)
    burst = 30 * np.exp(-((t - 1.5) / 0.02) ** 2) * np.sin(2 * np.pi * 120 * (t - 1.5))
    image, scale, q = channel_map(rng.standard_normal(len(t)) + burst, s)
    assert image.shape == (64, 64) and image.dtype == np.float32 and q == 12.0
    row, col = np.unravel_index(np.argmax(image), image.shape)
    assert s.frequencies()[row] == pytest.approx(120, rel=0.1)
    assert s.times()[col] == pytest.approx(1.0, abs=0.05)  # 1.5 s minus the 0.5 s pad
    assert np.median(image, axis=1) == pytest.approx(np.ones(64), rel=1e-5)
    # a part alone, in the units of the whole map, carries the burst's energy
    part = part_map(burst, s, scale, q)
    assert part[row, col] == pytest.approx(image[row, col], rel=0.3)
    assert not part_map(np.zeros_like(t), s, scale, q).any()


def test_mean_normalisation():
    image, _, _ = channel_map(np.random.default_rng(1).standard_normal(3 * 2048), spec("mean"))
    assert image.mean(axis=1) == pytest.approx(np.ones(64), rel=1e-4)


def test_config_refuses_windows_the_maps_cannot_have():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="shorter than the Q-transform window"):
        DataConfig(duration=0.5)
    with pytest.raises(ValidationError, match="resolves at most"):
        DataConfig(sample_rate=1024)
    with pytest.raises(ValidationError, match="multiples of 16"):
        VirgoConfig(data={"map_shape": (40, 64)})


def test_lagged_features_and_a_linear_coupling_is_recovered():
    rng = np.random.default_rng(0)
    aux = rng.exponential(size=(40, 2, 8, 32))
    assert lagged(aux, 2).shape == (40, 8, 32, 2 * 5 + 1)
    # main = 3 x channel 0 delayed by one column + 0.5 x channel 1 + 1, per row
    main = 3 * np.roll(aux[:, 0], 1, axis=-1) + 0.5 * aux[:, 1] + 1.0
    main[..., 0] = 3 * aux[:, 0, :, 0] + 0.5 * aux[:, 1, :, 0] + 1.0  # edge as padded
    chunks = [(aux[i:i + 10], main[i:i + 10]) for i in range(0, 40, 10)]
    fit = LinearBaseline.fit(chunks, lags=2, ridge=0.0)
    assert np.abs(fit.predict(aux) - main).max() < 1e-6


def test_metrics_mean_what_they_say():
    glitch = torch.zeros(2, 1, 4, 4)
    glitch[:, :, 1, 1] = 10.0
    cbc = torch.zeros(2, 1, 4, 4)
    cbc[:, :, 2, 2] = 5.0
    floor = torch.full((1, 1, 4, 1), 1.0)
    main = floor + glitch + cbc

    def db(pred):
        return summary({k: float(v) for k, v in
                        batch_metrics(pred, main, glitch, cbc, floor).items()})

    nothing = db(floor.expand_as(main))  # predicts only the floor: removes nothing
    assert nothing["glitch_removed_db"] == pytest.approx(0.0)
    assert nothing["cbc_preserved"] == pytest.approx(1.0)
    half = db(floor + glitch / 2)
    assert half["glitch_removed_db"] == pytest.approx(10 * np.log10(2))
    eats_signal = db(floor + glitch + cbc)  # also "subtracts" the binary
    assert eats_signal["cbc_preserved"] == pytest.approx(0.0)
    assert floor_of(np.ones((3, 4, 5)) * 2, "median").shape == (4, 1)


def test_the_mask_loss_is_the_glitch_power_residual_and_guards_the_binaries():
    import torch
    from dte_virgo_gw.task import estimate, mask_loss

    main = torch.tensor([[[[9.0, 1.0, 5.0]]]])
    glitch = torch.tensor([[[[8.0, 0.0, 0.0]]]])
    cbc = torch.tensor([[[[0.0, 0.0, 4.0]]]])
    batch = {"main": main, "glitch": glitch, "cbc": cbc}
    right = torch.logit(torch.tensor([[[[8 / 9, 1e-4, 1e-4]]]]))
    greedy = torch.logit(torch.tensor([[[[8 / 9, 1e-4, 0.9]]]]))  # also takes the binary
    assert mask_loss(right, batch, 0.0) < 0.01
    assert torch.allclose(estimate(right, main, 1.0, "mask") - 1.0, glitch, atol=1e-3)
    # it takes 4.5 where the binary has 4: all 4 lost, per (binary energy + 1)
    extra = mask_loss(greedy, batch, 1.0) - mask_loss(greedy, batch, 0.0)
    assert torch.isclose(extra, torch.tensor(4 / 5), atol=1e-3)
