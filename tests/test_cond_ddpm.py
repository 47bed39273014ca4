"""Class-conditional DDPM (--cond class) below the CLI: unconditional runs draw and compute exactly what the starter
did, labels are dropped at the --cond-drop share, and classifier-free guidance reaches every DDPM sampler."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from diffdash.diffusion import build_process
from diffdash.diffusion.guided import balanced_labels, digit_rows, guided
from diffdash.diffusion.samplers import names
from diffdash.mnist.load import to_tensor
from diffdash.models import build_network, count_parameters


def starter_loss(proc, net, x0, generator):
    """The coursework starter's DDPM loss, as it stood before conditioning: t, then the noise, then the network."""
    t = torch.randint(1, proc.n_T, (x0.shape[0],), device=x0.device, generator=generator)
    eps = torch.randn(x0.shape, device=x0.device, generator=generator)
    a = proc.alpha_t[t, None, None, None]
    return F.mse_loss(net(torch.sqrt(a) * x0 + torch.sqrt(1 - a) * eps, t / proc.n_T), eps)


def test_an_unconditional_run_computes_and_draws_exactly_as_before(small_data, tiny_config):
    config = tiny_config()
    assert config.cond == "none"
    proc, net = build_process(config, "cpu"), build_network(config)
    assert proc.null_label is None and getattr(net, "label_embed", None) is None
    x = to_tensor(small_data.train_images[:32])
    g_new, g_old = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    for _ in range(3):
        assert torch.equal(proc.loss(net, x, g_new), starter_loss(proc, net, x, g_old)), "bit-identical loss"
    assert torch.equal(g_new.get_state(), g_old.get_state()), "no extra random draws (the next batch's are the same)"


def test_a_conditional_network_is_the_unconditional_one_plus_a_label_table(tiny_config):
    """The label embedding is made last, so the rest of a conditional network starts from the same weights."""
    plain, cond = build_network(tiny_config()), build_network(tiny_config(cond="class"))
    table = cond.label_embed.weight
    assert table.shape[0] == 11, "ten digits and the learned 'no label' entry"
    assert count_parameters(cond) == count_parameters(plain) + table.numel()
    shared = {k: v for k, v in cond.state_dict().items() if not k.startswith("label_embed")}
    assert shared.keys() == plain.state_dict().keys()
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in shared.items())


def test_labels_are_dropped_at_the_cond_drop_share_after_the_unconditional_draws(small_data, tiny_config):
    proc = build_process(tiny_config(cond="class", cond_drop=0.25), "cpu")
    assert proc.null_label == 10
    y = torch.as_tensor(small_data.train_labels[:4000].astype("int64"))
    dropped = proc.dropped_labels(y, torch.Generator().manual_seed(0))
    share = float((dropped == 10).float().mean())
    assert 0.22 < share < 0.28, share
    kept = dropped != 10
    assert torch.equal(dropped[kept], y[kept]), "the labels not dropped are the digits' own"

    seen = []

    def net(x, t, labels=None):
        seen.append(labels)
        return torch.zeros_like(x)

    x = to_tensor(small_data.train_images[:64])
    g_cond, g_plain = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    proc.loss(net, x, g_cond, y=y[:64])
    assert seen[0] is not None and len(seen[0]) == 64, "the network is given the (partly dropped) labels"
    build_process(tiny_config(), "cpu").loss(net, x, g_plain)
    # t and the noise are drawn first in both, so a conditional run only appends its drop draws
    torch.rand((64,), generator=g_plain)
    assert torch.equal(g_cond.get_state(), g_plain.get_state())


def test_guidance_zero_is_the_conditional_network_and_above_zero_extrapolates(tiny_config):
    net = build_network(tiny_config(cond="class")).eval()
    x = torch.randn(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    t, labels = torch.full((6,), 0.5), torch.tensor([0, 1, 2, 7, 8, 9])
    with torch.no_grad():
        cond, uncond = net(x, t, labels), net(x, t, torch.full_like(labels, 10))
        assert torch.equal(guided(net, labels, 10, 0.0)(x, t), cond)
        torch.testing.assert_close(guided(net, labels, 10, 3.0)(x, t), 4 * cond - 3 * uncond, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="zero or above"):
        guided(net, labels, 10, -1.0)
    with pytest.raises(ValueError, match="no label"):
        guided(net, labels, None, 2.0)


@pytest.mark.parametrize("sampler", names("ddpm"))
def test_every_ddpm_sampler_takes_labels_and_guidance(sampler, tiny_config):
    config = tiny_config(cond="class", n_T=20)
    proc, net = build_process(config, "cpu"), build_network(config).eval()
    labels = digit_rows(1)

    def draw(**options):
        return proc.sample(net, 10, sampler=sampler, steps=5, seed=4, **options)

    plain_cond = draw(labels=labels, guidance=0.0)
    assert plain_cond.shape == (10, 1, 28, 28) and torch.isfinite(plain_cond).all()
    assert torch.equal(draw(labels=labels, guidance=0.0), plain_cond), "seeded"
    strong = draw(labels=labels, guidance=4.0)
    assert not torch.equal(strong, plain_cond), "guidance changes what is drawn"
    other = draw(labels=torch.full((10,), 3), guidance=0.0)
    assert not torch.equal(other, plain_cond), "labels change what is drawn"


def test_label_layouts():
    assert digit_rows(3).tolist() == [d for d in range(10) for _ in range(3)]
    assert balanced_labels(23).bincount().tolist() == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
