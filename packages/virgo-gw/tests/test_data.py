"""The streaming Dataset and the checks on data.path."""

from __future__ import annotations

import pickle
import shutil

import h5py
import numpy as np
import pytest
import torch
from dte_core.errors import ConfigError
from dte_virgo_gw.config import VirgoConfig
from dte_virgo_gw.data import FILE, MapsDataset, check_compatible, inspect, split
from torch.utils.data import DataLoader


def test_split_holds_out_the_last_samples():
    train, held = split(100, 0.2)
    assert (train, held) == (range(0, 80), range(80, 100))
    assert split(2, 0.2) == (range(0, 1), range(1, 2))


def test_dataset_streams_samples_and_opens_the_file_per_process(tiny_dataset):
    file = tiny_dataset / FILE
    data = MapsDataset(file, range(2, 10), truth=True)
    assert len(data) == 8 and data._h5 is None  # nothing opened before the first item
    item = data[0]
    assert set(item) == {"aux", "main", "glitch", "cbc"}
    assert item["aux"].shape == (3, 16, 16) and item["main"].shape == (1, 16, 16)
    with h5py.File(file) as f:
        assert np.array_equal(item["aux"], f["maps/aux"][2])
    copy = pickle.loads(pickle.dumps(data))  # what DataLoader workers receive
    assert copy._h5 is None
    direct = torch.stack([torch.from_numpy(data[i]["main"]) for i in range(8)])
    loader = DataLoader(MapsDataset(file, range(2, 10)), batch_size=4, num_workers=2)
    assert torch.equal(torch.cat([b["main"] for b in loader]), direct)


def test_data_path_problems_are_explained(tmp_path, tiny_dataset):
    with pytest.raises(ConfigError, match="dte data generate virgo-gw"):
        inspect(tmp_path / "nowhere")
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(ConfigError, match="empty"):
        inspect(tmp_path / "empty.h5")
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes((tiny_dataset / FILE).read_bytes()[:5000])
    with pytest.raises(ConfigError, match="truncated, corrupt or not HDF5"):
        inspect(corrupt)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(ConfigError, match="not a virgo-gw dataset"):
        inspect(tmp_path / "other.h5")
    unfinished = tmp_path / "unfinished"
    shutil.copytree(tiny_dataset, unfinished)
    with h5py.File(unfinished / FILE, "a") as f:
        f.attrs["complete"] = False
    with pytest.raises(ConfigError, match="interrupted"):
        inspect(unfinished)


def test_a_dataset_that_does_not_fit_the_model_says_which_keys_to_set(tiny_dataset):
    info = inspect(tiny_dataset)
    config = VirgoConfig(data={"aux_channels": 2})
    with pytest.raises(ConfigError) as err:
        check_compatible(info, config)
    assert "data.aux_channels=3" in str(err.value) and "data.map_shape=16,16" in str(err.value)
