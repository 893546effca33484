"""The generator: real noise curves, witnessed glitches, binaries, determinism, the file schema."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from dte_core.errors import ConfigError
from dte_virgo_gw import glitches, noise
from dte_virgo_gw.config import DataConfig
from dte_virgo_gw.data import FILE, inspect
from dte_virgo_gw.generate import generate, make_plan, sample


def test_noise_follows_the_advanced_virgo_design_curve():
    fs, n = 2048.0, 2048 * 64
    freqs = noise.rfft_frequencies(n, fs)
    psd = noise.lalsim_psd("AdVDesignSensitivityP1200087", freqs, 5.0)
    x = noise.colour(np.random.default_rng(0).standard_normal(n), psd, fs)
    from scipy.signal import welch

    f, measured = welch(x, fs=fs, nperseg=4096)
    band = (f > 20) & (f < 800)
    expected = np.interp(f[band], freqs, psd)
    ratio = measured[band] / expected
    assert 0.8 < np.median(ratio) < 1.2
    assert 1e-47 < np.interp(100.0, freqs, psd) < 1e-46  # AdV design: ~5e-24 /sqrt(Hz)
    white = noise.whiten(x, psd, fs)
    assert white.std() == pytest.approx(1.0, rel=0.05)


def test_unknown_noise_curve_and_bad_asd_files(tmp_path):
    freqs = noise.rfft_frequencies(1024, 1024.0)
    with pytest.raises(ConfigError, match="AdVDesignSensitivityP1200087"):
        noise.lalsim_psd("Virgo2030", freqs, 5.0)
    bad = tmp_path / "asd.txt"
    bad.write_text("10 1e-22\n5 2e-22\n")
    with pytest.raises(ConfigError, match="increasing frequencies"):
        noise.file_psd(bad, freqs, 5.0)
    with pytest.raises(ConfigError, match="does not exist"):
        noise.file_psd(tmp_path / "missing.txt", freqs, 5.0)


def test_a_measured_asd_file_sets_the_main_channel_noise(tmp_path, tiny_config):
    f = np.geomspace(4, 600, 200)
    asd = 1e-21 * (1 + (30 / f) ** 2)
    (tmp_path / "asd.txt").write_text("# Hz 1/sqrt(Hz)\n" + "\n".join(
        f"{a} {b}" for a, b in zip(f, asd, strict=True)))
    plan = make_plan(tiny_config.model_copy(update={"asd_file": tmp_path / "asd.txt"}))
    freqs = noise.rfft_frequencies(plan.n, 1024.0)
    at_100 = np.sqrt(plan.main_psd[np.argmin(abs(freqs - 100))])
    assert at_100 == pytest.approx(1e-21 * (1 + 0.09), rel=0.02)
    (tmp_path / "short.txt").write_text("\n".join(f"{a} {b}" for a, b in
                                                 zip(f[f < 200], asd[f < 200], strict=True)))
    with pytest.raises(ConfigError, match="covers the band"):
        make_plan(tiny_config.model_copy(update={"asd_file": tmp_path / "short.txt"}))


@pytest.mark.parametrize("morphology", DataConfig().morphologies)
def test_each_morphology_puts_its_energy_where_it_says(morphology):
    fs, t = 2048.0, np.arange(4096) / 2048.0
    x, f0 = glitches.waveform(morphology, np.random.default_rng(1), t, 1.0, fs, 480.0, 20.0)
    assert np.sqrt(np.sum(x ** 2)) == pytest.approx(20.0)
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / fs)
    in_band = spectrum[(freqs >= 8) & (freqs <= 500)].sum() / spectrum.sum()
    assert in_band > 0.9
    assert 8 <= f0 <= 500
    energy = np.cumsum(x ** 2) / np.sum(x ** 2)
    assert 0.4 < t[np.searchsorted(energy, 0.5)] < 1.3  # centred near t0 (chirps end there)


def test_coupling_filters_delays_and_adds_a_nonlinear_term():
    fs = 2048.0
    c = glitches.Coupling(band=(30.0, 300.0), delay=0.02, gain=1.0, beta=0.5,
                          sensor_corner=10, sensor_level=1)
    t = np.arange(4096) / fs
    d = np.exp(-((t - 1) / 0.01) ** 2) * np.sin(2 * np.pi * 100 * (t - 1)) * 20
    h = c.apply(d, fs)
    assert abs(np.argmax(np.abs(h)) - np.argmax(np.abs(d))) >= int(0.02 * fs)
    spectrum = np.abs(np.fft.rfft(h))
    freqs = np.fft.rfftfreq(len(h), 1 / fs)
    assert spectrum[np.argmin(abs(freqs - 200))] > 0.05 * spectrum.max()  # 2f from y^2
    linear = glitches.Coupling(band=(30.0, 300.0), delay=0.02, gain=1.0, beta=0.0,
                               sensor_corner=10, sensor_level=1).apply(d, fs)
    lin_spec = np.abs(np.fft.rfft(linear))
    assert lin_spec[np.argmin(abs(freqs - 200))] < 0.02 * lin_spec.max()


def test_dataset_schema_parts_and_tables(tiny_dataset):
    info = inspect(tiny_dataset)
    assert (info.kind, info.samples, info.aux_channels, info.map_shape) == (
        "generated", 12, 3, (16, 16))
    assert info.has_truth and info.main == "V1:Hrec_hoft_16384Hz"
    with h5py.File(tiny_dataset / FILE) as f:
        assert f["series/main"].shape == (12, 2048) and f["series/aux"].shape == (12, 3, 2048)
        assert f["series"].attrs["sample_rate"] == 1024
        assert list(f["series/aux"].attrs["channels"]) == info.aux
        main, parts = f["maps/main"][()], sum(f[f"truth/{p}"][()] for p in
                                              ("noise", "glitch", "cbc"))
        # main = noise + glitch + signal + interference terms that average out
        assert abs(main.mean() - parts.mean()) < 0.1 * main.mean()
        has_cbc = f["samples/has_cbc"][()]
        assert 0 < has_cbc.sum() < 12
        assert np.all(f["truth/cbc"][()][~has_cbc] == 0)
        assert np.all(f["truth/cbc"][()][has_cbc].sum(axis=(1, 2)) > 0)
        snr = f["samples/cbc_snr"][()][has_cbc]
        assert np.all((snr >= 8) & (snr <= 30))
        events = f["glitches/sample"][()]
        assert np.array_equal(np.bincount(events, minlength=12), f["samples/n_glitches"][()])
        quiet = f["samples/n_glitches"][()] == 0
        assert np.all(f["truth/glitch"][()][quiet] == 0)
        assert np.all(f["truth/glitch"][()][~quiet].max(axis=(1, 2)) > 0)
        assert np.all(np.diff(f["samples/gps_start"][()]) == 2.0)
        assert f.attrs["complete"]


def test_only_the_chosen_morphologies_are_drawn(tmp_path, tiny_config):
    data = tiny_config.model_copy(update={"morphologies": ["whistle"], "samples": 4,
                                          "glitch_rate": 3.0, "cbc_fraction": 0.0})
    generate(data, tmp_path, progress=False)
    with h5py.File(tmp_path / FILE) as f:
        assert set(f["glitches/morphology"][()]) == {b"whistle"}
        assert not f["samples/has_cbc"][()].any()


def test_a_sample_depends_only_on_seed_and_index(tiny_config):
    a, b = make_plan(tiny_config), make_plan(tiny_config.model_copy(update={"samples": 500}))
    first, again = sample(a, 3), sample(b, 3)
    for key in ("main", "aux", "main_map", "aux_maps", "glitch_map"):
        assert np.array_equal(first[key], again[key])
    other = sample(make_plan(tiny_config.model_copy(update={"seed": 1})), 3)
    assert not np.array_equal(first["main"], other["main"])


@pytest.mark.slow
def test_parallel_generation_writes_the_same_file(tmp_path, tiny_config):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    small = tiny_config.model_copy(update={"samples": 6})
    generate(small, one, progress=False)
    summary = generate(small.model_copy(update={"workers": 2}), two, progress=False)
    assert summary["workers"] == 2
    with h5py.File(one / FILE) as f, h5py.File(two / FILE) as g:
        for name in ("maps/aux", "maps/main", "series/main", "truth/glitch", "glitches/time"):
            assert np.array_equal(f[name][()], g[name][()]), name
