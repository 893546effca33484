"""`prepare`: real strain formats in (gwpy's own test frames, GWOSC layout), bad input out."""

from __future__ import annotations

from pathlib import Path

import gwpy
import h5py
import numpy as np
import pytest
from dte_core.errors import ConfigError
from dte_virgo_gw import noise
from dte_virgo_gw.config import DataConfig
from dte_virgo_gw.data import FILE, inspect
from dte_virgo_gw.prepare import prepare

GWPY_DATA = Path(gwpy.__file__).parent / "testing" / "data"
HDF = GWPY_DATA / "HLV-HW100916-968654552-1.hdf"
GWF = GWPY_DATA / "HLV-HW100916-968654552-1.gwf"
#: the gwpy files hold 1 s of H1, L1 and V1 strain at 16384 Hz: quarter-second samples
SHORT = {"duration": 0.25, "pad": 0.125, "frequency_range": (32.0, 500.0), "q_range": (6, 6),
         "whiten_fduration": 0.25, "asd_fftlength": 0.25, "sample_rate": 4096,
         "map_shape": (32, 32), "workers": 1}


def short(**extra) -> DataConfig:
    return DataConfig(**{**SHORT, "main": "V1:h_16384Hz",
                         "aux": ["H1:LDAS-STRAIN", "L1:LDAS-STRAIN"], **extra})


def write_gwosc(path, detector, t0, fs, values):
    """A file in the GWOSC open-data layout."""
    with h5py.File(path, "w") as f:
        strain = f.create_dataset("strain/Strain", data=values)
        strain.attrs.update({"Xstart": t0, "Xspacing": 1.0 / fs, "Npoints": len(values),
                             "Xunits": "second"})
        f["meta/Detector"] = detector.encode()
        f["meta/GPSstart"] = int(t0)
        f["meta/Duration"] = len(values) / fs


def write_gwpy(path, channels: dict, t0, fs):
    """A file in gwpy's HDF5 layout: one dataset per channel with x0 and dx."""
    with h5py.File(path, "w") as f:
        for name, values in channels.items():
            ds = f.create_dataset(name.replace(":", "_"), data=values)
            ds.attrs.update({"channel": name, "x0": t0, "dx": 1.0 / fs})


def virgo_noise(seconds, fs, seed=0):
    n = int(seconds * fs)
    psd = noise.lalsim_psd("AdVDesignSensitivityP1200087", noise.rfft_frequencies(n, fs), 5.0)
    return noise.colour(np.random.default_rng(seed).standard_normal(n), psd, fs)


def test_gwpy_hdf5_and_gwf_frames_give_the_same_samples(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    summary = prepare(short(), [HDF], tmp_path / "a", progress=False)
    prepare(short(), [GWF], tmp_path / "b", progress=False)
    assert summary["samples"] == 2
    info = inspect(tmp_path / "a")
    assert (info.kind, info.main, info.aux, info.has_truth) == (
        "prepared", "V1:h_16384Hz", ["H1:LDAS-STRAIN", "L1:LDAS-STRAIN"], False)
    with h5py.File(tmp_path / "a" / FILE) as f, h5py.File(tmp_path / "b" / FILE) as g:
        assert f["maps/aux"].shape == (2, 2, 32, 32)
        assert np.allclose(f["maps/main"][()], g["maps/main"][()], rtol=1e-4)
        assert f["series/main"].shape == (2, 2048)  # resampled 16384 -> 4096 Hz, 0.5 s
        assert f["samples/gps_start"][0] == pytest.approx(968654552 + 0.125)
        assert np.all(np.isfinite(f["maps/aux"][()]))


def test_gwosc_strain_with_a_witness_from_another_file(tmp_path):
    fs = 4096
    write_gwosc(tmp_path / "H-H1_GWOSC.hdf5", "H1", 1e9, fs, virgo_noise(16, fs))
    witness = np.random.default_rng(1).standard_normal(12 * fs)
    write_gwpy(tmp_path / "aux.h5", {"H1:PEM-MAG": witness}, 1e9 + 4, fs)  # starts 4 s later
    data = DataConfig(main="H1:GWOSC-STRAIN", aux=["H1:PEM-MAG"], aux_channels=1, workers=1)
    out = tmp_path / "out"
    out.mkdir()
    summary = prepare(data, [tmp_path / "H-H1_GWOSC.hdf5", tmp_path / "aux.h5"], out,
                      progress=False)
    # 12 s in common, 1 s whitening edge each side: 10 s of 3 s samples every 2 s
    assert summary["samples"] == 4 and summary["stretches"] == 1
    with h5py.File(out / FILE) as f:
        assert f["samples/gps_start"][0] == pytest.approx(1e9 + 5)
        assert f["series/main"].shape == (4, 3 * 2048)
        main = f["maps/main"][()]
    assert np.median(main) == pytest.approx(1.0, rel=0.05)  # whitened Virgo noise: flat


def bad(data, sources, tmp_path):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    with pytest.raises(ConfigError) as err:
        prepare(data, sources, out, progress=False)
    return " ".join(str(err.value).split())


def test_bad_inputs_are_explained(tmp_path):
    message = bad(short(aux=["H1:LDAS-STRAIN", "G1:DER_DATA_H"]), [HDF], tmp_path)
    assert "G1:DER_DATA_H not found" in message
    assert "H1:LDAS-STRAIN, L1:LDAS-STRAIN, V1:h_16384Hz" in message

    assert "--aux CHANNEL" in bad(short(aux=[]), [HDF], tmp_path)

    (tmp_path / "zero.gwf").write_bytes(b"")
    assert "empty (0 bytes)" in bad(short(), [tmp_path / "zero.gwf"], tmp_path)
    (tmp_path / "broken.gwf").write_bytes(GWF.read_bytes()[:3000])
    assert "cannot be read" in bad(short(), [tmp_path / "broken.gwf"], tmp_path)
    (tmp_path / "broken.h5").write_bytes(HDF.read_bytes()[:3000])
    assert "truncated, corrupt or not HDF5" in bad(short(), [tmp_path / "broken.h5"], tmp_path)
    with h5py.File(tmp_path / "nothing.h5", "w"):
        pass
    assert "contains no channels" in bad(short(), [tmp_path / "nothing.h5"], tmp_path)

    message = bad(DataConfig(main="V1:h_16384Hz", aux=["H1:LDAS-STRAIN"]), [HDF], tmp_path)
    assert "No sample fits" in message and "longest stretch" in message and "1 s" in message


def test_nan_strain_is_refused_or_skipped(tmp_path):
    fs = 1024
    main, aux = virgo_noise(40, fs), np.random.default_rng(2).standard_normal(40 * fs)
    main[20 * fs:21 * fs] = np.nan
    write_gwpy(tmp_path / "gap.h5", {"V1:STRAIN": main, "V1:ENV": aux}, 1e9, fs)
    data = DataConfig(main="V1:STRAIN", aux=["V1:ENV"], aux_channels=1, sample_rate=1024,
                      frequency_range=(16.0, 256.0), workers=1)
    message = bad(data, [tmp_path / "gap.h5"], tmp_path)
    assert "1024 NaN or infinite" in message and "GPS 1000000020.0000" in message
    assert "data.skip_nonfinite=true" in message
    out = tmp_path / "skipped"
    out.mkdir()
    summary = prepare(data.model_copy(update={"skip_nonfinite": True}), [tmp_path / "gap.h5"],
                      out, progress=False)
    assert summary["stretches"] == 2 and summary["samples"] == 2 * 8


def test_sample_rates_that_cannot_carry_the_band(tmp_path):
    fs = 2048
    write_gwpy(tmp_path / "a.h5", {"V1:STRAIN": virgo_noise(16, fs)}, 1e9, fs)
    write_gwpy(tmp_path / "slow.h5", {"V1:SEIS": np.random.default_rng(3).standard_normal(
        16 * 256)}, 1e9, 256)
    data = DataConfig(main="V1:STRAIN", aux=["V1:SEIS"], aux_channels=1, workers=1)
    message = bad(data, [tmp_path / "a.h5", tmp_path / "slow.h5"], tmp_path)
    assert "Sample-rate mismatch" in message and "V1:SEIS at 256 Hz" in message
    write_gwpy(tmp_path / "b.h5", {"V1:STRAIN": virgo_noise(16, 4096)}, 1e9 + 16, 4096)
    write_gwpy(tmp_path / "c.h5", {"V1:SEIS": np.ones(32 * 2048)}, 1e9, 2048)
    message = bad(data, [tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "c.h5"], tmp_path)
    assert "different sample rates" in message and "a.h5: 2048 Hz, b.h5: 4096 Hz" in message


@pytest.mark.slow
def test_prepare_cli_writes_nothing_on_bad_input(tmp_path, dte):
    # repeated --aux flags reach data.aux as a list: the second name is the unknown one
    flags = ["--set", "data.duration=0.25", "--set", "data.pad=0.125",
             "--set", "data.frequency_range=32,500", "--set", "data.q_range=6,6",
             "--set", "data.whiten_fduration=0.25", "--set", "data.asd_fftlength=0.25",
             "--set", "data.sample_rate=4096", "--set", "data.map_shape=32,32"]
    result = dte("data", "prepare", "virgo-gw", "--from", str(HDF), "--main", "V1:h_16384Hz",
                 "--aux", "H1:LDAS-STRAIN", "--aux", "X1:NOPE", "--out", "ds", *flags,
                 cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "X1:NOPE not found" in result.stderr
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a partial one


def test_a_prepared_dataset_trains_and_validates_without_truth(tmp_path):
    import torch
    from dte_virgo_gw.config import VirgoConfig
    from dte_virgo_gw.task import DenoiserTask
    from torch.utils.data import default_collate

    prepare(short(), [HDF], tmp_path, progress=False)
    config = VirgoConfig(data={**SHORT, "path": tmp_path, "aux_channels": 2},
                         model={"depth": 2, "base_channels": 4})
    task = DenoiserTask(config)
    task.models = task.configure_models()
    train, val = task.train_dataset(), task.val_dataset()
    assert (len(train), len(val)) == (1, 1)
    loss = task.training_step(default_collate([train[0]]), None)
    assert loss.requires_grad and torch.isfinite(loss)
    with torch.no_grad():
        metrics = task.validation_step(default_collate([val[0]]))
    assert {"loss", "l1", "mse", "baseline_l1", "baseline_mse"} == set(metrics)
    assert task.validation_summary({k: float(v) for k, v in metrics.items()}) == {}
