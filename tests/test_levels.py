"""How much of the digits each degradation level keeps: the saturation warning of `diffdash new` and the
`even` blur schedule, measured with the real degradations on real digits (the bundled MNIST subset).

The share left at a level is recomputed here from scratch (image minus its own mean, spread across
images), independently of diffdash/degradations/levels.py, so a wrong measure there cannot hide.
"""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from diffdash.cli import cli
from diffdash.degradations import build_degradation
from diffdash.degradations.blur import Blur, gaussian_kernel
from diffdash.degradations.levels import SATURATED, even_sigmas, gaussian_1d, saturation_notice, surviving_variance
from diffdash.mnist.load import to_tensor
from diffdash.options.run_config import RunConfig


@pytest.fixture(scope="module")
def digits(small_data):
    return to_tensor(small_data.train_images[:256])


def shares_by_hand(deg, x: torch.Tensor) -> list[float]:
    def shape(y: torch.Tensor) -> float:
        y = y.double().flatten(1)
        y = y - y.mean(1, keepdim=True)
        return float(y.var(0, unbiased=False).sum())

    params = deg.generation_params(len(x))
    return [shape(deg(x, t, params)) / shape(x) for t in range(deg.n_T + 1)]


SETTINGS = {
    "coursework heavy, 20 steps": dict(kernel_size=13, kernel_std=7.0, blur_schedule="constant", n_T=20),
    "coursework heavy, growing": dict(kernel_size=13, kernel_std=7.0, blur_schedule="growing", n_T=20),
    "heavy, even": dict(kernel_size=13, kernel_std=7.0, blur_schedule="even", n_T=20),
    "heavy, 3 steps": dict(kernel_size=13, kernel_std=7.0, blur_schedule="constant", n_T=3),
    "coursework light": dict(kernel_size=3, kernel_std=0.1, blur_schedule="growing", n_T=20),
    "fade": dict(degradation="fade", n_T=20),
    "pixelate to 1": dict(degradation="pixelate", pixelate_min=1, n_T=20),
    "mask": dict(degradation="mask", n_T=20),
}


def cold(**overrides) -> RunConfig:
    return RunConfig(**{"model": "cold", "sampler": "alg2", "dataset": "mnist-small", **overrides}).validate()


@pytest.mark.parametrize("setting", SETTINGS, ids=list(SETTINGS))
def test_early_saturation_never_goes_unwarned(setting, digits):
    config = cold(**SETTINGS[setting])
    shares = shares_by_hand(build_degradation(config), digits)
    flat = [t for t in range(1, config.n_T + 1) if shares[t] < SATURATED]
    notice = saturation_notice(config)
    if len(flat) * 2 > config.n_T:
        assert notice, f"{setting}: {len(flat)} of {config.n_T} levels saturated, no warning"
        assert f"{len(flat)} of {config.n_T} levels" in notice and "--n-T" in notice
    else:
        assert notice is None, f"{setting}: only {len(flat)} of {config.n_T} levels saturated, yet: {notice}"


def test_the_coursework_heavy_blur_saturates_and_new_says_so_with_a_fix(tmp_path, digits):
    config = cold(kernel_size=13, kernel_std=7.0, blur_schedule="constant", n_T=20)
    shares = shares_by_hand(build_degradation(config), digits)
    assert shares[1] < 0.05 and shares[3] < SATURATED, "σ 7 on a 13-pixel kernel: under 1 % after three steps"
    (tmp_path / "runs" / "taken").mkdir(parents=True)  # `new` then stops (exit 2) before training
    args = ["new", "--model", "cold", "--kernel-size", "13", "--kernel-std", "7.0", "--blur-schedule", "constant"]
    args += ["--dataset", "mnist-small", "--runs-dir", str(tmp_path / "runs"), "--name", "taken", "--headless"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.split())
    assert "warning:" in said and "of 20 levels keep under 1 %" in said
    assert "--blur-schedule even" in said and "--n-T" in said


def test_even_schedule_spends_the_levels_evenly_down_to_a_near_flat_final(digits):
    deg = Blur(20, kernel_size=13, kernel_std=7.0, schedule="even")
    shares = shares_by_hand(deg, digits)
    drops = [a - b for a, b in zip(shares[:-1], shares[1:], strict=True)]
    assert all(abs(d - 0.049) < 0.01 for d in drops), drops
    assert shares[-1] < 0.03, "the final level is (almost) as flat as the constant schedule's"
    constant = shares_by_hand(Blur(20, kernel_size=13, kernel_std=7.0), digits)
    assert sum(s >= SATURATED for s in shares[1:]) == 20 > sum(s >= SATURATED for s in constant[1:]) + 15


def test_even_schedule_reaches_the_constant_final_blur_when_a_kernel_can(digits):
    deg = Blur(10, kernel_size=13, kernel_std=0.8, schedule="even")
    shares = shares_by_hand(deg, digits)
    constant = shares_by_hand(Blur(10, kernel_size=13, kernel_std=0.8), digits)
    assert shares[-1] == pytest.approx(constant[-1], abs=2e-3)
    drops = [a - b for a, b in zip(shares[:-1], shares[1:], strict=True)]
    assert max(drops) - min(drops) < 5e-3, drops


def test_level_measure_matches_the_definition_and_the_closed_form_kernel(digits):
    deg = Blur(6, kernel_size=13, kernel_std=2.0)
    assert surviving_variance(deg, digits) == pytest.approx(shares_by_hand(deg, digits), rel=1e-6)
    for size, sigma in [(13, 7.0), (3, 0.1), (11, 0.5)]:
        g = gaussian_1d(size, sigma)
        assert torch.allclose(torch.outer(g, g).float(), gaussian_kernel(size, sigma), atol=1e-7)


def test_even_schedule_is_deterministic_and_recorded_in_the_config(tmp_path):
    assert even_sigmas(13, 7.0, 20) == even_sigmas(13, 7.0, 20)
    assert list(even_sigmas(13, 7.0, 20)) == Blur(20, kernel_size=13, kernel_std=7.0, schedule="even").sigmas
    assert cold(blur_schedule="even").to_dict()["blur_schedule"] == "even"
