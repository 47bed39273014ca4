import math

import pytest
import torch

from diffdash.diffusion.ddpm import DDPM
from diffdash.diffusion.samplers import sampler_class
from diffdash.diffusion.schedules import ddpm_schedules
from diffdash.mnist.load import to_tensor
from diffdash.models.cnn import CNN


def test_schedule_values_against_hand_computed_ones():
    s = ddpm_schedules(1e-4, 0.02, 1000)
    beta, alpha = s["beta_t"], s["alpha_t"]
    assert beta.shape == alpha.shape == (1001,)
    assert beta[0].item() == pytest.approx(1e-4)
    assert beta[1000].item() == pytest.approx(0.02)
    assert beta[500].item() == pytest.approx(1e-4 + 0.5 * (0.02 - 1e-4))
    assert alpha[0].item() == pytest.approx(1 - 1e-4)
    assert alpha[1].item() == pytest.approx((1 - 1e-4) * (1 - (1e-4 + 1.99e-5)), rel=1e-6)
    expected_last = math.exp(sum(math.log(1 - (1e-4 + (0.02 - 1e-4) * i / 1000)) for i in range(1001)))
    assert alpha[1000].item() == pytest.approx(expected_last, rel=1e-3)


def test_noised_matches_closed_form(small_data):
    proc = DDPM(n_T=1000)
    x = to_tensor(small_data.test_images[:8])
    eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    t = torch.full((8,), 300)
    a = proc.alpha_t[300]
    assert torch.allclose(proc.noised(x, t, eps), a.sqrt() * x + (1 - a).sqrt() * eps)


def test_loss_on_real_digits_drops_with_a_few_steps(small_data):
    torch.manual_seed(0)
    net = CNN((8, 16, 8))
    proc = DDPM(n_T=1000)
    x = to_tensor(small_data.train_images[:128])
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)

    def eval_loss():
        with torch.no_grad():
            return proc.loss(net, x, torch.Generator().manual_seed(5)).item()

    before = eval_loss()
    g = torch.Generator().manual_seed(0)
    for _ in range(30):
        loss = proc.loss(net, x, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = eval_loss()
    assert after < 0.7 * before, (before, after)


@pytest.mark.parametrize("sampler, steps", [("ancestral", None), ("ddim", 10)])
def test_samplers_shapes_ranges_and_fixed_seed(sampler, steps):
    torch.manual_seed(0)
    net = CNN((4, 8, 4)).eval()
    proc = DDPM(n_T=50)
    a = proc.sample(net, 4, sampler=sampler, steps=steps, seed=3)
    b = proc.sample(net, 4, sampler=sampler, steps=steps, seed=3)
    c = proc.sample(net, 4, sampler=sampler, steps=steps, seed=4)
    assert a.shape == (4, 1, 28, 28) and torch.isfinite(a).all()
    assert torch.equal(a, b), "same seed must give the same grid"
    assert not torch.allclose(a, c)
    if sampler == "ddim":
        assert a.min() >= -0.5 and a.max() <= 0.5, "DDIM clips x0 to the data range"


def test_ddim_timesteps_strided_and_decreasing():
    ts = sampler_class("ddpm", "ddim")(DDPM(n_T=1000), 50, seed=0).timesteps
    assert ts[0] == 1000 and ts[-1] == 1 and len(ts) == 50
    assert all(a > b for a, b in zip(ts, ts[1:], strict=False))


def test_every_registered_sampler_is_a_sampler_of_its_process():
    """The registry is the one list of names: each entry loads, and the processes offer exactly those."""
    from diffdash.diffusion.samplers import SAMPLERS
    from diffdash.diffusion.samplers.base import Sampler

    for process, table in SAMPLERS.items():
        for name in table:
            assert issubclass(sampler_class(process, name), Sampler), (process, name)
    assert DDPM.samplers == tuple(SAMPLERS["ddpm"])
    with pytest.raises(ValueError, match="unknown sampler 'euler' for ddpm: choose one of ancestral, ddim, dpm"):
        DDPM(n_T=10).sample(CNN((4,)), 1, sampler="euler")


def test_sampling_stops_when_asked():
    from diffdash.diffusion.base import SamplingStopped

    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 3

    net = CNN((4,)).eval()
    with pytest.raises(SamplingStopped):
        DDPM(n_T=1000).sample(net, 2, sampler="ancestral", seed=0, should_stop=stop)
    assert calls["n"] == 4
