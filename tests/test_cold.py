"""Cold diffusion on real digits: training, the three samplers, generation and reconstruction.

One tiny model is trained for a few steps with the real engine (bundled MNIST subset) and shared
by the tests below; the CLI tests check bad input exits 2 before anything is written.
"""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from diffdash.cli import cli
from diffdash.diffusion import build_process, samplers_for
from diffdash.diffusion.cold_prior import GaussianMixturePrior, fit_gmm
from diffdash.mnist.load import DATA_HIGH, DATA_LOW, to_tensor
from diffdash.runs.trained_network import load_trained
from diffdash.store import RunDir
from diffdash.training import Engine

N_T = 10


@pytest.fixture(scope="session")
def cold_config(tiny_config):
    """Makes configs of a tiny blur cold-diffusion run: `cold_config(loss="l1")`."""

    def make(**overrides):
        base = dict(model="cold", sampler="alg2", n_T=N_T, epochs=1, train_limit=512, kernel_size=5, kernel_std=1.5)
        base["sample_every"] = "1"  # one grid per epoch: the default also draws by the clock, which a slow machine hits
        base.update(overrides)
        return tiny_config(**base)

    return make


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_data, cold_config):
    root = tmp_path_factory.mktemp("cold-runs")
    run = RunDir.create(root, "cold")
    assert Engine(run, cold_config(), data=small_data).run() == "finished"
    net, process, config = load_trained(run)
    process.attach_data(to_tensor(small_data.train_images[:512]), to_tensor(small_data.test_images[:128]))
    return run, net, process


def pairwise(x: torch.Tensor) -> torch.Tensor:
    d = torch.cdist(x.flatten(1), x.flatten(1))
    return d[~torch.eye(len(x), dtype=torch.bool)]


def test_engine_writes_generated_grid_variants_and_forward_strip(trained):
    run, _, _ = trained
    assert [e for e, _ in run.samples()] == [1]
    assert set(run.sample_variants()) >= {"reconstruct", "direct", "alg1", "trajectory"}
    from PIL import Image

    forward = Image.open(run.samples_dir / "forward.png")
    assert forward.width == (N_T + 1) * 30 + 2 and forward.height == 32, "one digit at t = 0..n_T, in one row"
    trajectory = Image.open(run.samples("trajectory")[-1][1])
    assert trajectory.height == 32 and trajectory.width > 2 * 30, "x_t* then the state after every step"


def test_report_shows_the_forward_process_and_a_reverse_trajectory(trained, tmp_path):
    import numpy as np
    from PIL import Image

    from diffdash.compare.report.build import build_report

    run, _, _ = trained
    files = {p.name for p in build_report([run], tmp_path / "report", None, say=lambda _m: None)}
    assert {"forward_cold.png", "trajectory_cold.png"} <= files
    for name in ("forward_cold.png", "trajectory_cold.png"):
        pixels = np.asarray(Image.open(tmp_path / "report" / name))
        assert pixels.std() > 5, f"{name} is blank"
    assert "trajectory_cold.png" in (tmp_path / "report" / "index.md").read_text()
    assert run.read_config()["degradation"] == "blur"


def test_loss_is_l1_or_l2_on_x0(small_data, cold_config):
    x0 = to_tensor(small_data.train_images[:32])
    net = torch.nn.Conv2d(1, 1, 1)
    torch.nn.init.zeros_(net.weight)
    torch.nn.init.zeros_(net.bias)

    class Zero(torch.nn.Module):  # predicts a black-grey 0 image: the loss is then |x0| or x0^2
        def forward(self, x, t):
            return net(x)

    g = torch.Generator().manual_seed(0)
    l1 = build_process(cold_config(loss="l1"), "cpu").loss(Zero(), x0, g)
    l2 = build_process(cold_config(loss="l2"), "cpu").loss(Zero(), x0, g)
    assert l1.item() == pytest.approx(x0.abs().mean().item(), rel=1e-5)
    assert l2.item() == pytest.approx((x0**2).mean().item(), rel=1e-5)


@pytest.mark.parametrize("sampler", ["direct", "alg1", "alg2"])
def test_each_sampler_restores_into_the_data_range(trained, sampler):
    _, net, process = trained
    for start in ("generate", "reconstruct"):
        x = process.sample(net, 8, sampler=sampler, seed=1, start=start)
        assert x.shape == (8, 1, 28, 28) and torch.isfinite(x).all()
        assert x.min() >= DATA_LOW - 0.3 and x.max() <= DATA_HIGH + 0.3
        assert torch.equal(x, process.sample(net, 8, sampler=sampler, seed=1, start=start))  # seeded


def test_the_three_samplers_differ(trained):
    _, net, process = trained
    out = {s: process.sample(net, 8, sampler=s, seed=2) for s in samplers_for("cold")}
    assert not torch.allclose(out["direct"], out["alg2"], atol=1e-3)
    assert not torch.allclose(out["alg1"], out["alg2"], atol=1e-3)


def test_algorithm_2_telescopes_to_a_perfect_restorers_answer(small_data, cold_config):
    """If R always answers x̂, Algorithm 2 from D(x̂, n_T) ends exactly at x̂: the sum telescopes."""
    target = to_tensor(small_data.test_images[:4])
    process = build_process(cold_config(kernel_size=13, kernel_std=7.0), "cpu")

    class Oracle(torch.nn.Module):
        def forward(self, x, t):
            return target

    x_T = process.degradation(target, N_T)
    for sampler in ("alg1", "alg2"):
        out = process.restore(Oracle(), x_T, N_T, sampler=sampler)
        assert (out - target).abs().max() < 1e-4


def test_generation_gives_samples_that_differ_from_each_other(trained):
    _, net, process = trained
    x = process.sample(net, 16, sampler="alg2", seed=0, start="generate")
    assert pairwise(x).min() > 0.5  # no two generated digits alike
    other_seed = process.sample(net, 16, sampler="alg2", seed=5, start="generate")
    assert (x - other_seed).flatten(1).norm(dim=1).mean() > 1.0
    # reconstruction from fully degraded held-out digits is what the coursework did: a fixed map
    r = process.sample(net, 16, sampler="alg2", seed=0, start="reconstruct")
    assert r.shape == x.shape


def test_generation_noise_per_step_changes_the_samples(trained):
    _, net, process = trained
    plain = process.sample(net, 8, sampler="alg2", seed=0)
    process.gen_noise = 0.02
    try:
        noisy = process.sample(net, 8, sampler="alg2", seed=0)
    finally:
        process.gen_noise = 0.0
    assert not torch.allclose(plain, noisy, atol=1e-3)


def test_sampling_honours_a_stop_request(trained):
    from diffdash.diffusion.base import SamplingStopped

    _, net, process = trained
    with pytest.raises(SamplingStopped):
        process.sample(net, 4, sampler="alg2", seed=0, should_stop=lambda: True)


def test_gmm_prior_recovers_two_clusters_and_samples_images():
    g = torch.Generator().manual_seed(0)
    z = torch.cat([torch.randn(300, 2, generator=g) - 5, torch.randn(100, 2, generator=g) + 5]).double()
    weights, means, _ = fit_gmm(z, 2)
    order = means[:, 0].argsort()
    assert weights[order].tolist() == pytest.approx([0.75, 0.25], abs=0.02)
    assert means[order].flatten().tolist() == pytest.approx([-5, -5, 5, 5], abs=0.3)
    images = torch.randn(200, 1, 28, 28, generator=g)
    prior = GaussianMixturePrior(images, components=3, dims=8)
    out = prior.sample(5, seed=1)
    assert out.shape == (5, 1, 28, 28) and torch.equal(out, prior.sample(5, seed=1))


def invoke(args, runs_dir):
    return CliRunner().invoke(cli, [*args, "--runs-dir", str(runs_dir)])


BASE = ["new", "--model", "cold", "--dataset", "mnist-small", "--headless"]


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--degradation", "smudge"], "unknown degradation 'smudge': choose one of blur, fade, mask, pixelate"),
        (["--kernel-size", "4"], "kernel size must be an odd whole number from 1 to 27, got 4"),
        (["--kernel-size", "0"], "kernel size must be an odd whole number from 1 to 27, got 0"),
        (["--kernel-size", "-3"], "got -3"),
        (["--kernel-std", "0"], "kernel std (σ) must be positive, got 0.0"),
        (["--kernel-std", "-1"], "must be positive"),
        (["--blur-schedule", "cubic"], "unknown blur schedule 'cubic'"),
        (["--padding", "mirror"], "unknown padding 'mirror': choose one of circular, reflect, zero"),
        (["--mask-std", "0"], "mask std must lie in (0, 56] pixels, got 0.0"),
        (["--mask-std", "100"], "got 100.0"),
        (["--mask-place", "corner"], "unknown mask place 'corner'"),
        (["--pixelate-min", "3"], "pixelate size must be one of 1, 2, 4, 7, 14, got 3"),
        (["--fade-to", "white"], "unknown fade target 'white'"),
        (["--loss", "huber"], "unknown loss 'huber': choose one of l1, l2"),
        (["--sampler", "ddim"], "unknown sampler for cold 'ddim': choose one of direct, alg1, alg2"),
        (["--prior-t", "30"], "prior t must lie in 1..n-T (20), got 30"),
        (["--gen-noise", "-0.1"], "gen noise must be zero or positive"),
    ],
)
def test_bad_cold_options_exit_2_with_a_clear_message(tmp_path, extra, needle):
    result = invoke([*BASE, *extra], tmp_path / "runs")
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.output.split())
    assert not (tmp_path / "runs").exists()


def test_sample_command_starts_and_bad_start_options(trained, tmp_path):
    run, _, _ = trained
    root = run.path.parent
    out = tmp_path / "rec.png"
    result = invoke(["sample", "cold", "-n", "4", "--start", "reconstruct", "-o", str(out)], root)
    assert result.exit_code == 0, result.output
    assert out.is_file()
    result = invoke(["sample", "cold", "-n", "4", "--sampler", "direct", "--prior-t", "3"], root)
    assert result.exit_code == 0, result.output
    assert (run.samples_dir / "sample-direct-generate-5-seed0-n4.png").is_file()
    bad = invoke(["sample", "cold", "--prior-t", "11"], root)
    assert bad.exit_code == 2 and "--prior-t must lie in 1..10" in bad.output
    bad = invoke(["sample", "cold", "--start", "dream"], root)
    assert bad.exit_code == 2


@pytest.mark.parametrize("overrides", [dict(degradation="fade"), dict(kernel_size=13, kernel_std=7.0)])
def test_auto_prior_level_is_the_last_that_keeps_5_percent_of_the_variance(small_data, overrides, cold_config):
    from diffdash.degradations.levels import shape_spread as spread
    from diffdash.diffusion.cold import PRIOR_KEEP, auto_prior_t

    deg = build_process(cold_config(**overrides), "cpu").degradation
    x = to_tensor(small_data.train_images[:256])
    t = auto_prior_t(deg, x)
    assert 1 <= t <= N_T
    assert t == 1 or spread(deg(x, t)) >= PRIOR_KEEP * spread(x)
    assert t == N_T or spread(deg(x, t + 1)) < PRIOR_KEEP * spread(x)


def test_reverse_strip_ends_at_the_generated_sample(trained):
    _, net, process = trained
    strip = process.reverse_strip(net, seed=0)
    assert strip.shape == (process.prior_t + 1, 1, 28, 28)
    assert torch.allclose(strip[-1:], process.sample(net, 1, sampler=process.config.sampler, seed=0), atol=1e-5)
