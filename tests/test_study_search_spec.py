"""A study file's [search] table and `seeds`: what they expand to, and bad input refused with exit 2 naming the key
before anything is created."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from diffdash.cli import cli
from diffdash.study import load_study

ROOT = Path(__file__).resolve().parent.parent
HEAD = '[study]\nname = "s"\n[defaults]\ndataset = "mnist-small"\nepochs = 3\n'
SEARCH = "[search]\ntrials = 4\n[search.params]\n"
GOOD = HEAD + SEARCH + "lr = { low = 1e-4, high = 3e-3, log = true }\nn_hidden = [[8, 16, 8], [16, 32, 16]]\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def test_search_params_become_options_of_new(tmp_path):
    study = load_study(write(tmp_path, GOOD))
    spec = study.search
    assert study.members == [] and spec.trials == 4 and spec.sampler == "tpe" and spec.pruner == "median"
    lr, width = spec.params
    assert (lr.low, lr.high, lr.log, lr.is_int) == (1e-4, 3e-3, True, False)
    assert width.labels() == ["8,16,8", "16,32,16"]  # how Optuna stores a list
    assert spec.options({"lr": 5e-4, "n_hidden": "16,32,16"}) == {"lr": 5e-4, "n_hidden": [16, 32, 16]}
    from diffdash.study.search_trials import trial_member

    m = trial_member(study, 7, {"lr": 5e-4, "n_hidden": "16,32,16"})
    assert (m.name, m.run_id, m.trial) == ("trial-007", "s-trial-007", 7)
    assert m.argv[-4:] == ["--lr", "0.0005", "--n-hidden", "16,32,16"] and m.epochs == 3


def test_the_shipped_search_loads():
    study = load_study(ROOT / "studies" / "search-quick.toml")
    assert study.search.trials == 16 and [p.key for p in study.search.params] == ["lr", "n_hidden"]
    full = load_study(ROOT / "studies" / "search-coursework.toml")
    assert full.search.metric == "fid" and full.search.params
    seeds = load_study(ROOT / "studies" / "seeds-quick.toml")
    assert [m.group for m in seeds.members] == ["ddpm-16-32-32-16"] * 3 + ["ddpm-16-32-64-32-16"] * 3


def test_seeds_make_one_run_per_seed_grouped(tmp_path):
    text = HEAD + "seeds = 2\n[runs.narrow]\nn_hidden = [8, 16, 8]\n[runs.wide]\nseeds = [5, 7]\n"
    text += "n_hidden = [16, 32, 16]\n[runs.fixed]\nseed = 3\n"
    study = load_study(write(tmp_path, text))
    got = [(m.name, m.group, m.options.get("seed"), m.params["seed"]) for m in study.members]
    assert got == [
        ("narrow-s0", "narrow", 0, 0),
        ("narrow-s1", "narrow", 1, 1),
        ("wide-s5", "wide", 5, 5),
        ("wide-s7", "wide", 7, 7),
        ("fixed", None, 3, 3),  # a member that sets seed itself opts out of the defaults' seeds
    ]


BAD = {
    "empty-range": (SEARCH + "lr = { low = 1e-3, high = 1e-3 }\n", "search.params.lr", "empty"),
    "log-non-positive": (SEARCH + "lr = { low = 0.0, high = 1e-3, log = true }\n", "search.params.lr.low", "above 0"),
    "unknown-option": (SEARCH + "n_hiden = [[8, 16, 8]]\n", "search.params.n_hiden", "did you mean 'n_hidden'"),
    "bad-choice": (SEARCH + 'schedule = ["linear", "cosin"]\n', "search.params.schedule", "cosin"),
    "metric-never-recorded": (
        '[search]\ntrials = 2\nmetric = "fid"\n[search.params]\nlr = [1e-3, 2e-3]\n',
        "search.metric",
        "never recorded",
    ),
    "trials-0": ("[search]\ntrials = 0\n[search.params]\nlr = [1e-3]\n", "search.trials", "from 1"),
    "grid-range": (
        '[search]\ntrials = 2\nsampler = "grid"\n[search.params]\nlr = { low = 1e-4, high = 1e-3 }\n',
        "search.params.lr",
        "choices",
    ),
    "unknown-sampler": (
        '[search]\ntrials = 2\nsampler = "tpee"\n[search.params]\nlr = [1e-3]\n',
        "search.sampler",
        "tpe",
    ),
    "combination": (
        '[search]\ntrials = 2\n[search.params]\nnet = ["cnn", "unet"]\nunet_channels = [[16, 32]]\n',
        "search.params.unet_channels",
        "three widths",
    ),
    "no-params": ("[search]\ntrials = 2\n", "search.params", "say what to search"),
    "seed-and-seeds": ("[runs.a]\nseed = 1\nseeds = 3\n", "runs.a.seeds", "either seed or seeds"),
    "seeds-zero": ("[runs.a]\nseeds = 0\n", "runs.a.seeds", "1.."),
    "seeds-repeated": ("[runs.a]\nseeds = [1, 1]\n", "runs.a.seeds", "twice"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_search_or_seeds_exit_2_naming_the_key(tmp_path, case):
    text, key, detail = BAD[case]
    path = write(tmp_path, HEAD + text)
    for command in (["study", "status", str(path)], ["study", "run", str(path), "--runs-dir", str(tmp_path / "r")]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2, result.output
        assert key in result.output and detail in result.output, result.output
    assert not (tmp_path / "r").exists()


def test_status_of_a_search_that_never_ran_creates_nothing(tmp_path):
    path = write(tmp_path, GOOD)
    result = CliRunner().invoke(cli, ["study", "status", str(path), "--runs-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "no trial yet" in result.output and "0/4 trials" in result.output
    assert not (tmp_path / "r").exists()
