"""DPM-Solver++(2M): its steps against the probability-flow ODE solved in closed form, its agreement with DDIM
on a real network, and `diffdash sample` / `diffdash eval` with it on a trained run."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from diffdash.diffusion.ddpm import DDPM
from diffdash.diffusion.samplers import sampler_class
from diffdash.models.cnn import CNN


class LinearInLambda(nn.Module):
    """A 'network' whose x0 prediction is A + B·λ(t) whatever x is (λ = log(α/σ)), returned as the noise it implies.

    For it the ODE in data-prediction form, d(x/σ)/dλ = e^λ x0(λ), integrates in closed form:
    x/σ grows by F(λ_end) - F(λ_start) with F(l) = e^l (A + B(l - 1)).
    """

    def __init__(self, process: DDPM, a: torch.Tensor, b: float):
        super().__init__()
        self.process, self.a, self.b = process, a, b

    def lam(self, t: int) -> float:
        abar = float(self.process.alpha_t[t].double())
        return 0.5 * math.log(abar / (1 - abar))

    def forward(self, x: torch.Tensor, t_frac: torch.Tensor) -> torch.Tensor:
        t = round(float(t_frac[0]) * self.process.n_T)
        abar = self.process.alpha_t[t].double()
        x0 = self.a + self.b * self.lam(t)
        return ((x.double() - abar.sqrt() * x0) / (1 - abar).sqrt()).float()


def walk_to_last_timestep(process: DDPM, net: nn.Module, name: str, steps: int, x: torch.Tensor):
    """x at the sampler's last timestep (before its final x0 estimate), through the sampler's own steps."""
    sampler = sampler_class("ddpm", name)(process, steps, 0)
    ones = torch.ones(len(x))
    for t in sampler.timesteps[:-1]:
        x = sampler.step(net(x, t / process.n_T * ones), t, x)
    return x, sampler.timesteps[-1]


def closed_form_error(process: DDPM, name: str, steps: int, b: float) -> float:
    g = torch.Generator().manual_seed(0)
    a = 0.05 * torch.randn(4, 1, 28, 28, generator=g).double().clamp(-3, 3)  # x0 stays inside the data range
    x_start = torch.randn(4, 1, 28, 28, generator=g)
    net = LinearInLambda(process, a, b)
    x, t_end = walk_to_last_timestep(process, net, name, steps, x_start)

    def big_f(lam: float) -> torch.Tensor:
        return math.exp(lam) * (a + b * (lam - 1))

    def sigma(t: int) -> float:
        return float((1 - process.alpha_t[t].double()).sqrt())

    n_T = process.n_T
    exact = sigma(t_end) * (x_start.double() / sigma(n_T) + big_f(net.lam(t_end)) - big_f(net.lam(n_T)))
    return float((x.double() - exact).abs().max())


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_exact_when_the_x0_prediction_is_constant(schedule):
    """With x0(λ) constant the ODE is solved exactly by any consistent step (DDIM's too)."""
    process = DDPM(n_T=1000, schedule=schedule)
    assert closed_form_error(process, "dpm++2m", 10, b=0.0) < 1e-4


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_second_order_steps_beat_ddim_against_the_closed_form(schedule):
    """x0 linear in λ: DDIM (first order) is off by O(h), DPM-Solver++(2M) by O(h²); a wrong coefficient in its
    extrapolation (sign, 1/(2r)) makes it no better than DDIM."""
    process = DDPM(n_T=1000, schedule=schedule)
    errors = {steps: closed_form_error(process, "dpm++2m", steps, b=0.02) for steps in (10, 20, 40)}
    for steps, error in errors.items():
        assert error < closed_form_error(process, "ddim", steps, b=0.02) / 2.5, (steps, errors)
    assert errors[40] < errors[20] < errors[10], errors


def test_agrees_with_ddim_at_many_steps_on_a_real_network():
    """Both solve the same ODE: at every step of a short chain they land close, far closer than another start."""
    torch.manual_seed(0)
    net = CNN((4, 8, 4)).eval()
    process = DDPM(n_T=30)
    dpm = process.sample(net, 3, sampler="dpm++2m", steps=30, seed=1)
    ddim = process.sample(net, 3, sampler="ddim", steps=30, seed=1)
    other = process.sample(net, 3, sampler="ddim", steps=30, seed=2)
    assert dpm.shape == (3, 1, 28, 28) and torch.isfinite(dpm).all()
    assert dpm.min() >= -0.5 and dpm.max() <= 0.5, "x0 estimates are clipped to the data range"
    assert (dpm - ddim).abs().mean() < 0.05 * (other - ddim).abs().mean()
    assert torch.equal(dpm, process.sample(net, 3, sampler="dpm++2m", steps=30, seed=1)), "deterministic"


@pytest.mark.slow
def test_sample_and_eval_commands_take_it(trained_run, tmp_path, small_classifier, monkeypatch):
    from click.testing import CliRunner
    from fault_support import copy_run

    from diffdash.cli import cli

    _, cache = small_classifier
    monkeypatch.setenv("DIFFDASH_DATA", str(cache))
    root = tmp_path / "runs"
    copy_run(trained_run, root)
    out = tmp_path / "dpm.png"
    args = ["--runs-dir", str(root), "--sampler", "dpm++2m", "--steps", "20"]
    sampled = CliRunner().invoke(cli, ["sample", "small", *args, "-n", "4", "-o", str(out), "--no-show"])
    assert sampled.exit_code == 0, sampled.output
    assert "(dpm++2m, 20 steps)" in sampled.output and out.is_file()
    scored = CliRunner().invoke(cli, ["eval", "small", *args, "-n", "16", "--no-write"])
    assert scored.exit_code == 0, scored.output
    assert "FID (MNIST classifier)" in scored.output and "dpm++2m 20 steps" in scored.output
