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
