import pytest
import torch

from diffdash.models.cnn import CNN, count_parameters


@pytest.mark.parametrize(
    "n_hidden, norm, expected",
    [((16, 32, 32, 16), "chw", 291_217), ((16, 32, 64, 32, 16), "chw", 542_161), ((16, 32, 32, 16), "hw", 146_961)],
)
def test_parameter_counts_match_the_coursework(n_hidden, norm, expected):
    assert count_parameters(CNN(n_hidden, norm=norm)) == expected


def test_output_shape_and_time_dependence():
    torch.manual_seed(0)
    net = CNN((4, 8, 4))
    x = torch.randn(3, 1, 28, 28)
    a = net(x, torch.full((3,), 0.1))
    b = net(x, torch.full((3,), 0.9))
    assert a.shape == x.shape
    assert not torch.allclose(a, b), "the time embedding must change the output"


def test_time_encoding_frequencies_are_the_starters():
    net = CNN((4,))
    f = net.frequencies
    assert f[0] == 0 and torch.isclose(f[1], torch.tensor(2 * torch.pi)) and f.numel() == 16
    assert torch.isclose(f[15], torch.tensor(2 * torch.pi * 1.5**14))
    feats_zero = net.time_embed[0].in_features
    assert feats_zero == 32


def test_fast_layout_is_the_same_network():
    """Channels-last weights and the permuted (C, H, W) LayerNorm: the coursework's model up to float rounding."""
    import copy

    from diffdash.models.cnn import use_fast_layout

    torch.manual_seed(0)
    ref = CNN((16, 32, 32, 16))
    fast = use_fast_layout(copy.deepcopy(ref), "cpu")
    assert fast.blocks[1].net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert list(fast.state_dict()) == list(ref.state_dict())
    x, t = torch.randn(8, 1, 28, 28), torch.rand(8)
    a, b = ref(x, t), fast(x, t)
    assert b.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
    a.square().mean().backward()
    b.square().mean().backward()
    grads = dict(fast.named_parameters())
    for name, p in ref.named_parameters():
        torch.testing.assert_close(grads[name].grad, p.grad, rtol=1e-3, atol=1e-6, msg=name)


def test_fast_layout_only_where_it_was_measured_faster():
    from diffdash.models.cnn import use_fast_layout

    hw = use_fast_layout(CNN((4, 8), norm="hw"), "cpu")  # its norm would copy to NCHW at every block
    assert hw.blocks[1].net[0].weight.is_contiguous()
    other = use_fast_layout(CNN((4, 8)), "cuda")  # only the CPU was measured; the module is not moved
    assert other.blocks[1].net[0].weight.is_contiguous()
