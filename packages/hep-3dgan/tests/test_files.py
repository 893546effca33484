"""Shower files: HDF5 and ROOT written and read back, and every bad input named clearly."""

import h5py
import numpy as np
import pytest
import uproot
from dte_hep_3dgan import files, gflash
from dte_hep_3dgan.config import DataConfig
from dte_hep_3dgan.files import ShowerFile, ShowerFileError
from dte_hep_3dgan.generate import generate_file


@pytest.fixture(scope="module")
def sample():
    return gflash.block(0, 5, 3, (5.0, 50.0), (70.0, 110.0))


@pytest.mark.parametrize("suffix", [".h5", ".root"])
def test_round_trip(tmp_path, sample, suffix):
    ecal, energy, theta = sample
    path = tmp_path / f"s{suffix}"
    files.write(path, ecal, energy, theta, block=2)  # several blocks / ROOT baskets
    f = ShowerFile(path)
    assert f.format == ("root" if suffix == ".root" else "hdf5") and f.events == 5
    assert np.array_equal(f.read(3), ecal[3]) and np.array_equal(f.read(0), ecal[0])
    assert np.array_equal(f.read_range(1, 4), ecal[1:4])
    assert np.allclose(f.energy, energy) and np.allclose(f.theta, theta)


def test_hdf5_layout_is_chunked_and_compressed(tmp_path):
    summary = generate_file(tmp_path / "g.h5", DataConfig(events=3, workers=1), progress=False)
    assert summary["events"] == 3
    with h5py.File(tmp_path / "g.h5") as h5:
        assert h5["ECAL"].shape == (3, 51, 51, 25) and h5["ECAL"].dtype == np.float32
        assert h5["ECAL"].chunks == (1, 51, 51, 25) and h5["ECAL"].compression == "gzip"
        assert h5["energy"].shape == (3,) and h5["theta"].attrs["units"] == "rad"


def test_generation_is_the_same_for_any_number_of_processes(tmp_path):
    one = generate_file(tmp_path / "a.root", DataConfig(events=70, workers=1, format="root"),
                        progress=False)
    two = generate_file(tmp_path / "b.root", DataConfig(events=70, workers=2, format="root"),
                        progress=False)
    assert two["workers"] == 1 or two["workers"] == 2
    a, b = ShowerFile(tmp_path / "a.root"), ShowerFile(tmp_path / "b.root")
    assert one["events"] == a.events == 70
    assert np.array_equal(a.read_range(0, 70), b.read_range(0, 70))
    assert np.array_equal(a.energy, b.energy)


def test_hdf5_compressed_in_processes_reads_back_the_same(tmp_path):
    one = DataConfig(events=70, workers=1)
    two = DataConfig(events=70, workers=2)
    generate_file(tmp_path / "a.h5", one, progress=False)
    generate_file(tmp_path / "b.h5", two, progress=False)
    a, b = ShowerFile(tmp_path / "a.h5"), ShowerFile(tmp_path / "b.h5")
    assert np.array_equal(a.read_range(0, 70), b.read_range(0, 70))
    assert np.array_equal(a.theta, b.theta)


def test_theta_in_degrees_is_converted(tmp_path, sample):
    ecal, energy, theta = sample
    with h5py.File(tmp_path / "deg.h5", "w") as h5:
        h5["ECAL"], h5["energy"] = ecal, energy[:, None]  # (N, 1) energies are accepted too
        h5["theta"] = np.degrees(theta)
        h5["theta"].attrs["units"] = "deg"
    assert np.allclose(ShowerFile(tmp_path / "deg.h5").theta, theta, atol=1e-6)


def test_prepare_checks_and_merges_files(tmp_path, sample):
    from dte_hep_3dgan.prepare import prepare

    ecal, energy, theta = sample
    with h5py.File(tmp_path / "community.h5", "w") as h5:  # unchunked, theta in degrees
        h5["ECAL"], h5["energy"], h5["theta"] = ecal, energy, np.degrees(theta)
    files.write(tmp_path / "more.root", ecal[:2], energy[:2], theta[:2])
    out = tmp_path / "out"
    out.mkdir()
    summary = prepare(DataConfig(), [tmp_path / "community.h5", tmp_path / "more.root"], out)
    merged = ShowerFile(out / "showers.h5")
    assert summary["events"] == merged.events == 7
    assert np.array_equal(merged.read_range(0, 5), ecal)
    assert np.array_equal(merged.read_range(5, 7), ecal[:2])
    assert np.allclose(merged.theta[:5], theta, atol=1e-6)


def h5file(path, **datasets):
    with h5py.File(path, "w") as h5:
        for key, value in datasets.items():
            h5[key] = value
    return path


def good(n=2):
    return {"ECAL": np.zeros((n, 51, 51, 25), np.float32),
            "energy": np.full(n, 10.0, np.float32), "theta": np.full(n, 1.5, np.float32)}


def message(path) -> str:
    with pytest.raises(ShowerFileError) as info:
        ShowerFile(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text
    return text


def test_wrong_ecal_shape(tmp_path):
    bad = {**good(), "ECAL": np.zeros((2, 25, 25, 25), np.float32)}
    text = message(h5file(tmp_path / "x.h5", **bad))
    assert "(2, 25, 25, 25)" in text and "(N, 51, 51, 25)" in text


def test_missing_energy_and_theta(tmp_path):
    text = message(h5file(tmp_path / "x.h5", ECAL=good()["ECAL"]))
    assert "'energy' or 'theta'" in text and "it holds: ECAL" in text


@pytest.mark.parametrize("value", [np.nan, -3.0, 0.0])
def test_invalid_energies(tmp_path, value):
    data = good(3)
    data["energy"][1] = value
    text = message(h5file(tmp_path / "x.h5", **data))
    assert "invalid 'energy'" in text and "first at shower 1" in text


def test_energy_count_must_match(tmp_path):
    data = {**good(3), "energy": np.ones(2, np.float32)}
    assert "ECAL holds 3 showers" in message(h5file(tmp_path / "x.h5", **data))


def test_empty_hdf5(tmp_path):
    assert "holds no datasets" in message(h5file(tmp_path / "x.h5"))
    assert "0 showers" in message(h5file(tmp_path / "y.h5", **good(0)))


def test_empty_root_tree(tmp_path):
    path = tmp_path / "x.root"
    with uproot.recreate(path) as f:
        f.mktree("showers", {"ECAL": (np.float32, (51, 51, 25)), "energy": np.float32,
                             "theta": np.float32})
    assert "empty TTree 'showers'" in message(path)


def test_root_without_tree_and_missing_branch(tmp_path):
    path = tmp_path / "x.root"
    with uproot.recreate(path) as f:
        f["note"] = "no tree"
    assert "holds no TTree" in message(path)
    with uproot.recreate(path) as f:
        f.mktree("showers", {"ECAL": (np.float32, (51, 51, 25)), "energy": np.float32})
        f["showers"].extend({"ECAL": np.zeros((2, 51, 51, 25), np.float32),
                             "energy": np.ones(2, np.float32)})
    assert "without branch 'theta'" in message(path)
    with uproot.recreate(path) as f:
        f["showers"] = {"energy": np.ones(2, np.float32)}  # uproot's default: an RNTuple
    assert "RNTuple" in message(path)


def test_not_a_shower_file(tmp_path):
    (tmp_path / "x.h5").write_text("hello")
    assert "neither HDF5 nor ROOT" in message(tmp_path / "x.h5")
    (tmp_path / "e.h5").write_bytes(b"")
    assert "an empty file" in message(tmp_path / "e.h5")
    assert "does not exist" in message(tmp_path / "missing.h5")
    assert "is a folder" in message(tmp_path)
