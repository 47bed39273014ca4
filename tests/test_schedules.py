"""Beta schedules: the cosine one against Nichol & Dhariwal's formula, and `new --schedule cosine` end to end."""

from __future__ import annotations

import json
import math

import pytest
import torch

from diffdash.diffusion.ddpm import DDPM
from diffdash.diffusion.schedules import SCHEDULES, beta_schedule


def nichol_dhariwal_alpha_bar(t: int, n_T: int, s: float = 0.008) -> float:
    """Improved DDPM (2021), eq. 17, written out again here rather than imported."""
    return math.cos((t / n_T + s) / (1 + s) * math.pi / 2) ** 2 / math.cos(s / (1 + s) * math.pi / 2) ** 2


@pytest.mark.parametrize("n_T", [50, 1000])
def test_cosine_alpha_bar_follows_the_formula_and_falls(n_T):
    process = DDPM(n_T=n_T, schedule="cosine")
    abar = process.alpha_t.double()
    assert abar.shape == (n_T + 1,) and abar[0] == 1.0
    assert (abar[1:] < abar[:-1]).all(), "alpha_bar must fall at every step"
    assert (abar > 0).all() and (process.beta_t <= 0.999).all()
    for t in (1, n_T // 4, n_T // 2, 3 * n_T // 4, n_T - n_T // 20):
        assert float(abar[t]) == pytest.approx(nichol_dhariwal_alpha_bar(t, n_T), rel=1e-4), t


def test_linear_schedule_is_the_starters_bit_for_bit():
    """Existing runs keep their exact betas: the same float32 arithmetic as before the registry."""
    expected = (0.02 - 1e-4) * torch.arange(0, 1001, dtype=torch.float32) / 1000 + 1e-4
    assert torch.equal(beta_schedule("linear", 1000, (1e-4, 0.02)), expected)
    assert list(SCHEDULES)[0] == "linear"
    with pytest.raises(ValueError, match="unknown schedule 'quadratic': choose one of linear, cosine"):
        beta_schedule("quadratic", 10, (1e-4, 0.02))


@pytest.mark.slow
def test_new_records_the_cosine_schedule_and_resume_keeps_it(tmp_path):
    """new --schedule cosine writes it to config.json; a run resumed to 2 epochs ends with the very weights of an
    uninterrupted 2-epoch cosine run, which it would not if resuming fell back to the linear schedule."""
    from fault_support import TINY, invoke

    from diffdash.checkpoint import load_checkpoint
    from diffdash.diffusion import build_process
    from diffdash.options.run_config import RunConfig
    from diffdash.store import RunDir

    runs = tmp_path / "runs"
    first = invoke("new", *TINY, "--schedule", "cosine", "--epochs", "1", "--name", "resumed", runs=runs)
    assert first.exit_code == 0, first.output
    RunDir(runs / "resumed").release_lock()
    assert json.loads((runs / "resumed" / "config.json").read_text())["schedule"] == "cosine"
    again = invoke("resume", "resumed", "--epochs", "2", runs=runs)
    assert again.exit_code == 0, again.output
    whole = invoke("new", *TINY, "--schedule", "cosine", "--epochs", "2", "--name", "whole", runs=runs)
    assert whole.exit_code == 0, whole.output
    assert json.loads((runs / "resumed" / "config.json").read_text())["schedule"] == "cosine"
    resumed = load_checkpoint(RunDir(runs / "resumed").last_checkpoint, "cpu")["model"]
    uninterrupted = load_checkpoint(RunDir(runs / "whole").last_checkpoint, "cpu")["model"]
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in uninterrupted)
    config = RunConfig.from_dict(json.loads((runs / "resumed" / "config.json").read_text()))
    assert torch.equal(build_process(config, "cpu").alpha_t, DDPM(n_T=50, schedule="cosine").alpha_t)
