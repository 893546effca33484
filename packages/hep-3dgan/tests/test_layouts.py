"""Shower files from other tools: other dataset/branch names (data.mapping), layer-first and
flat ECAL arrays, MeV units refused or read by the deposit/primary ratio, RNTuple input (what
uproot writes by default), and prepare's summary naming the file it leaves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import uproot
from dte_hep_3dgan import gflash
from dte_hep_3dgan.config import DataConfig
from dte_hep_3dgan.files import ShowerFile, ShowerFileError

DTE = str(Path(sys.executable).with_name("dte"))


@pytest.fixture(scope="module")
def showers():
    """Physical showers (51, 51, 25) GeV with their energies (GeV) and angles (rad)."""
    return gflash.block(0, 6, 3, (10.0, 50.0), (80.0, 100.0))


def h5(path, **datasets):
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            f[key] = value
    return path


def data(**settings) -> DataConfig:
    return DataConfig.model_validate(settings)


def test_other_names_need_a_mapping_and_the_error_names_it(tmp_path, showers):
    ecal, energy, theta = showers
    path = h5(tmp_path / "angle.h5", ECAL=ecal, Energy=energy, mtheta=theta)
    with pytest.raises(ShowerFileError) as err:
        ShowerFile(path)
    text = str(err.value)
    assert "--set data.mapping.theta=mtheta" in text and "dte data prepare" not in text
    f = ShowerFile(path, data=data(mapping={"theta": "mtheta"}))  # 'Energy': any case
    assert f.names == {"ecal": "ECAL", "energy": "Energy", "theta": "mtheta"}
    np.testing.assert_allclose(f.read(2), ecal[2])


def test_a_mapping_to_a_name_the_file_lacks_lists_what_it_has(tmp_path, showers):
    ecal, energy, theta = showers
    path = h5(tmp_path / "x.h5", ECAL=ecal, energy=energy, theta=theta)
    with pytest.raises(ShowerFileError, match=r"has no dataset 'Ep' \(data.mapping.energy\); "
                                              r"it has: ECAL, energy, theta"):
        ShowerFile(path, data=data(mapping={"energy": "Ep"}))


def test_layer_first_arrays_are_read_as_xyz(tmp_path, showers):
    ecal, energy, theta = showers
    path = h5(tmp_path / "lf.h5", ECAL=ecal.transpose(0, 3, 1, 2), energy=energy, theta=theta)
    f = ShowerFile(path)
    assert f.layout == "layer-first"
    np.testing.assert_array_equal(f.read_range(0, 6), ecal)
    np.testing.assert_array_equal(f.read(4), ecal[4])


def test_a_flat_root_branch_needs_its_order_then_reads(tmp_path, showers):
    ecal, energy, theta = showers
    path = tmp_path / "flat.root"
    with uproot.recreate(path) as f:
        f.mktree("showers", {"ECAL": (np.float32, (65025,)), "energy": np.float32,
                             "theta": np.float32})
        f["showers"].extend({"ECAL": ecal.reshape(6, -1), "energy": energy, "theta": theta})
    with pytest.raises(ShowerFileError, match="--set data.mapping.layout=flat "):
        ShowerFile(path)
    f = ShowerFile(path, data=data(mapping={"layout": "flat"}))
    np.testing.assert_array_equal(f.read(5), ecal[5])


def test_flat_layer_first(tmp_path, showers):
    ecal, energy, theta = showers
    flat = ecal.transpose(0, 3, 1, 2).reshape(6, -1)
    path = h5(tmp_path / "flf.h5", ECAL=flat, energy=energy, theta=theta)
    f = ShowerFile(path, data=data(mapping={"layout": "flat-layer-first"}))
    np.testing.assert_array_equal(f.read_range(1, 3), ecal[1:3])
    with pytest.raises(ShowerFileError, match="data.mapping.layout=xyz means"):
        ShowerFile(path, data=data(mapping={"layout": "xyz"}))


def test_mev_deposits_with_gev_energies_are_refused_naming_the_setting(tmp_path, showers):
    ecal, energy, theta = showers
    path = h5(tmp_path / "mev.h5", ECAL=ecal * 1000, energy=energy, theta=theta)
    with pytest.raises(ShowerFileError) as err:
        ShowerFile(path)
    text = str(err.value)
    assert "summing to 2" in text and "--set data.ecal_units=MeV (ratio 0.02" in text
    f = ShowerFile(path, data=data(ecal_units="MeV"))
    np.testing.assert_allclose(f.read(0), ecal[0], rtol=1e-5)


def test_units_attributes_are_honoured(tmp_path, showers):
    ecal, energy, theta = showers
    path = h5(tmp_path / "mev.h5", ECAL=ecal * 1000, energy=energy * 1000, theta=theta)
    with h5py.File(path, "a") as f:
        f["ECAL"].attrs["units"] = "MeV"
        f["energy"].attrs["units"] = "MeV"
    f = ShowerFile(path)
    assert f.units["ecal"][0] == "MeV" and f.units["energy"][0] == "MeV"
    np.testing.assert_allclose(f.energy, energy, rtol=1e-6)
    np.testing.assert_allclose(f.read(1), ecal[1], rtol=1e-5)


def test_gev_deposits_with_mev_energies_are_refused(tmp_path, showers):
    ecal, energy, theta = showers
    path = h5(tmp_path / "x.h5", ECAL=ecal, energy=energy * 1000, theta=theta)
    with pytest.raises(ShowerFileError, match="--set data.energy_units=MeV"):
        ShowerFile(path)


def test_rntuple_input(tmp_path, showers):
    ecal, energy, theta = showers
    path = tmp_path / "rntuple.root"
    with uproot.recreate(path) as f:
        f["showers"] = {"ECAL": ecal, "energy": energy, "theta": theta}  # uproot's default
    assert "RNTuple" in uproot.open(path).classnames()["showers;1"]
    f = ShowerFile(path)
    assert f.kind == "rntuple" and f.events == 6
    np.testing.assert_array_equal(f.read(3), ecal[3])
    np.testing.assert_array_equal(f.read_range(0, 6), ecal)


def test_prepare_maps_files_and_its_summary_names_the_file_left(tmp_path, showers):
    from dte.api import prepare

    ecal, energy, theta = showers
    source = h5(tmp_path / "lf.h5", ECAL=ecal.transpose(0, 3, 1, 2), Energy=energy,
                mtheta=theta)
    summary = prepare("hep-3dgan", [source], tmp_path / "out",
                      set=["data.mapping.theta=mtheta"])
    assert (tmp_path / "out" / summary["file"]).is_file()
    assert summary["sources"][0]["layout"] == "layer-first"
    np.testing.assert_array_equal(ShowerFile(tmp_path / "out" / summary["file"]).read(2),
                                  ecal[2])


def test_prepare_of_a_wrong_mapping_exits_2_and_writes_nothing(tmp_path, showers):
    ecal, energy, theta = showers
    source = h5(tmp_path / "x.h5", ECAL=ecal, energy=energy, theta=theta)
    result = subprocess.run([DTE, "data", "prepare", "hep-3dgan", "--from", str(source),
                             "--out", str(tmp_path / "out"), "--set",
                             "data.mapping.energy=Ep"], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "200"}, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "data.mapping.energy" in result.stderr and "dte data prepare" not in result.stderr
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_data_check_prints_names_layout_units_and_ratio(tmp_path, showers):
    ecal, energy, theta = showers
    source = h5(tmp_path / "lf.h5", ECAL=ecal.transpose(0, 3, 1, 2) * 1000, Energy=energy,
                mtheta=theta)
    env = {**os.environ, "COLUMNS": "200"}
    bad = subprocess.run([DTE, "data", "check", "hep-3dgan", str(source), "--set",
                          "data.mapping.theta=mtheta"], capture_output=True, text=True, env=env,
                         timeout=300)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "--set data.ecal_units=MeV" in " ".join(bad.stderr.split())
    ok = subprocess.run([DTE, "data", "check", "hep-3dgan", str(source), "--set",
                         "data.mapping.theta=mtheta", "--ecal-units", "MeV"],
                        capture_output=True, text=True, env=env, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "names           ecal=ECAL, energy=Energy, theta=mtheta" in ok.stdout
    assert "stored layer-first (25, 51, 51)" in ok.stdout and "file's MeV" in ok.stdout
    assert "deposit/Ep      median 0.02" in ok.stdout
    assert "dte train hep-3dgan --set data.path=" in ok.stdout
    assert "data.ecal_units=MeV" in ok.stdout
