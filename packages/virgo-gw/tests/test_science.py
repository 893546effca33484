"""The virgo-gw science honours the plugin contract and loads cheaply."""

from dte_core.testing import check_science_contract, imported_on_load


def test_contract():
    check_science_contract("virgo-gw")


def test_loading_imports_no_framework():
    assert imported_on_load("virgo-gw") == []


def test_input_example_runs_the_model_and_the_search_space_is_valid():
    import torch
    from dte_core.hpo.space import parse

    science = check_science_contract("virgo-gw")
    config = science.Config()
    (aux,) = science.input_example(config)["denoiser"]
    net = science.task(config).configure_models()["denoiser"].eval()
    with torch.no_grad():
        assert net(torch.from_numpy(aux)).shape == (1, 1, 64, 64)
    assert len(parse(science.search_space(), science.Config).params) == 4
    assert science.capabilities() == ["generate", "prepare", "train", "evaluate", "predict"]
