"""A trained denoiser refuses input unlike its training data (sample rate, band, durations,
map size, Q range, channels), naming both sides and commands that work; the training data's
signature travels with the run and the registered model package."""

from __future__ import annotations

import shlex
import warnings

import numpy as np
import pytest
from dte_core import datasig
from dte_core.errors import ConfigError
from dte_virgo_gw import signature
from dte_virgo_gw.config import VirgoConfig
from dte_virgo_gw.data import inspect


def _generate(tiny_config, out, **changes):
    from dte_virgo_gw.generate import generate

    out.mkdir()
    generate(tiny_config.model_copy(update={"samples": 4, **changes}), out, progress=False)
    return out


def _trained(tiny_dataset, **data):
    config = VirgoConfig(data={"path": tiny_dataset, "map_shape": (16, 16), **data},
                         model={"depth": 2, "base_channels": 4})
    config._data_signature = signature.of_info(inspect(tiny_dataset))
    return config


def test_the_signature_holds_the_dataset_attributes(tiny_dataset):
    sig = signature.of_info(inspect(tiny_dataset))
    assert sig["sample_rate"] == 1024 and sig["frequency_range"] == [16.0, 256.0]
    assert sig["duration"] == 1.0 and sig["pad"] == 0.5 and sig["q_range"] == [8.0, 8.0]
    assert sig["map_shape"] == [16, 16] and sig["aux_count"] == 3
    assert len(sig["aux_channels"]) == 3 and sig["main_channel"]


def test_predict_refuses_maps_of_another_band_and_duration(tiny_dataset, tiny_config, tmp_path):
    from dte_virgo_gw.model import build
    from dte_virgo_gw.predict import predict

    other = _generate(tiny_config, tmp_path / "other", frequency_range=(32.0, 256.0), duration=0.5,
                      q_range=(6.0, 6.0))
    config = _trained(tiny_dataset)
    with pytest.raises(ConfigError) as err:
        predict(config, build(config), tmp_path / "p.h5", other, {})
    text = str(err.value)
    assert "band [Hz]: the model was trained on 16, 256, this input has 32, 256" in text
    assert "sample duration [s]: the model was trained on 1, this input has 0.5" in text
    assert "Q range: the model was trained on 8, 8, this input has 6, 6" in text
    assert "--frequency-range 16,256" in text and "\n" not in text
    assert not (tmp_path / "p.h5").exists() and not list(tmp_path.glob(".p.h5*"))


def test_channel_names_that_differ_are_refused(tiny_dataset, tiny_config, tmp_path):
    from dte_virgo_gw.model import build
    from dte_virgo_gw.predict import predict

    other = _generate(tiny_config, tmp_path / "other",
                      aux=["V1:ENV_MAG_A", "V1:ENV_MAG_B", "V1:ENV_MIC"])
    config = _trained(tiny_dataset)
    with pytest.raises(ConfigError, match="auxiliary channels: the model was trained on .* "
                                          "this input has V1:ENV_MAG_A, V1:ENV_MAG_B"):
        predict(config, build(config), tmp_path / "p.h5", other, {})


def test_a_channel_count_mismatch_suggests_commands_that_work(tiny_dataset, tiny_config, tmp_path):
    from dte_cli.extra_options import as_overrides
    from dte_virgo_gw.model import build
    from dte_virgo_gw.predict import predict

    other = _generate(tiny_config, tmp_path / "other", aux_channels=2)
    config = _trained(tiny_dataset)
    with pytest.raises(ConfigError) as err:
        predict(config, build(config), tmp_path / "p.h5", other, {})
    text = str(err.value)
    assert "number of auxiliary channels: the model was trained on 3, this input has 2" in text
    named, *commands = [c for c in text.split("`") if c.startswith("dte ")]
    assert named == "dte predict virgo-gw"  # who refuses, then the two fixes
    assert len(commands) == 2 and not any("predict" in c for c in commands)
    prepare, train = (shlex.split(c) for c in commands)
    assert prepare[:4] == ["dte", "data", "prepare", "virgo-gw"] and prepare.count("--aux") == 3
    overrides = as_overrides(prepare[prepare.index("--main"):prepare.index("--out")], "data")
    from dte_core import config as config_layer

    raw: dict = {}
    for item in overrides:  # as `dte data prepare` applies them
        config_layer.apply_override(VirgoConfig, raw, item)
    prepared = config_layer.validate(VirgoConfig, raw)
    assert prepared.data.frequency_range == (16.0, 256.0) and len(prepared.data.aux) == 3
    assert train[:3] == ["dte", "train", "virgo-gw"] and "data.aux_channels=2" in train


def test_runs_without_a_signature_get_the_config_check_with_working_commands(tiny_dataset,
                                                                              tmp_path):
    from dte_virgo_gw.model import build
    from dte_virgo_gw.predict import predict

    config = VirgoConfig(data={"path": tiny_dataset, "map_shape": (16, 16), "aux_channels": 2},
                         model={"depth": 2, "base_channels": 4})
    with pytest.raises(ConfigError) as err:
        predict(config, build(config), tmp_path / "p.h5", tiny_dataset, {})
    assert "--set" not in str(err.value).split("dte train")[0]
    assert "dte data prepare virgo-gw" in str(err.value)


def test_matching_input_is_predicted(tiny_dataset, tmp_path):
    from dte_virgo_gw.model import build
    from dte_virgo_gw.predict import predict

    config = _trained(tiny_dataset)
    assert predict(config, build(config), tmp_path / "p.h5", tiny_dataset, {}).is_file()


def test_evaluate_refuses_a_changed_training_dataset(tiny_dataset, tiny_config, tmp_path):
    from dte_virgo_gw.evaluate import evaluate
    from dte_virgo_gw.model import build

    other = _generate(tiny_config, tmp_path / "other", sample_rate=2048)
    config = _trained(tiny_dataset)
    config = config.model_copy(update={"data": config.data.model_copy(update={"path": other})})
    with pytest.raises(ConfigError, match="no longer matches .* sample rate \\[Hz\\]: the model "
                                          "was trained on 1024, this input has 2048"):
        evaluate(config, build(config), tmp_path / "eval")


@pytest.mark.slow
def test_training_stores_the_signature_and_the_model_package_carries_it(
        tiny_dataset, tiny_config, tmp_path, dte, tiny_sets):
    """`dte train` writes data-signature.json into the run, the registry's package copies it,
    loading the package attaches it, and `dte predict` on unlike input exits 2, by run and by
    registered model."""
    import json

    from dte_core import checkpoint, rundir
    from dte_core.registry import package

    result = dte("train", "virgo-gw", *tiny_sets(f"data.path={tiny_dataset}",
                                                 "train.epochs=1"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = rundir.list_runs(tmp_path / "runs", "virgo-gw")[-1]
    stored = json.loads((run.path / datasig.FILE).read_text())
    assert stored["frequency_range"] == [16.0, 256.0] and stored["aux_count"] == 3
    folder = tmp_path / "package"
    package.build(run, checkpoint.select_of_run(run, None), folder)
    _, config, _ = package.load(folder)
    assert datasig.trained_on(config) == stored
    other = _generate(tiny_config, tmp_path / "other", frequency_range=(32.0, 256.0))
    result = dte("predict", "virgo-gw", "--run", "latest", "--input", str(other), "--output",
                 str(tmp_path / "p.h5"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "band [Hz]: the model was trained on 16, 256, this input has 32, 256" in \
        " ".join(result.stderr.split())
    assert not (tmp_path / "p.h5").exists()
    registered = dte("register", "latest", "--name", "denoiser", cwd=tmp_path)
    assert registered.returncode == 0, registered.stderr
    package_dir = tmp_path / ".dte" / "models" / "denoiser" / "1" / "dte-model"
    result = dte("predict", "virgo-gw", "--model", "models:/denoiser/1", "--input", str(other),
                 "--output", str(tmp_path / "p.h5"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert json.loads((package_dir / datasig.FILE).read_text()) == stored
    assert "this input has 32, 256" in " ".join(result.stderr.split())


def test_an_asd_file_with_a_zero_frequency_row_is_quiet(tmp_path):
    from dte_virgo_gw.noise import file_psd, read_asd_file

    f = np.r_[0.0, np.geomspace(1.0, 2048.0, 100)]
    asd = np.r_[0.0, 1e-21 * (1 + (30 / f[1:]) ** 2)]
    (tmp_path / "asd.txt").write_text("\n".join(f"{a} {b}" for a, b in zip(f, asd,
                                                                           strict=True)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        freqs, values = read_asd_file(tmp_path / "asd.txt")
        psd = file_psd(tmp_path / "asd.txt", np.linspace(0, 512, 513), 5.0)
    assert freqs[0] == 1.0 and len(values) == 100
    assert psd[0] == 0 and psd[100] > 0


def test_predict_input_of_another_science_is_refused(tiny_dataset, tmp_path):
    import xarray as xr
    from dte_virgo_gw.model import build
    from dte_virgo_gw.predict import predict

    fields = tmp_path / "psl_day.nc"
    xr.Dataset({"psl": (("time", "lat"), np.zeros((2, 3)))}).to_netcdf(fields,
                                                                       engine="h5netcdf")
    config = _trained(tiny_dataset)
    with pytest.raises(ConfigError, match="not a virgo-gw dataset"):
        predict(config, build(config), tmp_path / "p.h5", fields, {})
    assert not (tmp_path / "p.h5").exists()
