"""FID (MNIST classifier), the digit histogram and the reconstruction figures: maths and sanity on real digits."""

from __future__ import annotations

import math

import pytest
import torch

from diffdash.metrics.evaluate import score
from diffdash.metrics.fid import feature_stats, frechet_distance
from diffdash.metrics.histogram import class_histogram, histogram_entropy, mean_confidence
from diffdash.metrics.recon import reconstruction_table, rmse, ssim
from diffdash.mnist.load import to_tensor


@pytest.fixture(scope="session")
def classifier(small_classifier):
    return small_classifier[0]


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    d = 5
    mu1, mu2 = torch.zeros(d, dtype=torch.float64), torch.arange(d, dtype=torch.float64)
    a, b = torch.arange(1, d + 1, dtype=torch.float64), torch.full((d,), 4.0, dtype=torch.float64)
    assert frechet_distance(mu1, torch.diag(a), mu1, torch.diag(a)) == pytest.approx(0.0, abs=1e-9)
    # diagonal covariances: |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    expected = float((mu2**2).sum() + ((a.sqrt() - b.sqrt()) ** 2).sum())
    assert frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(expected, rel=1e-9)
    # a rotation of both covariances changes nothing
    q, _ = torch.linalg.qr(torch.randn(d, d, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    rotated = frechet_distance(q @ mu1, q @ torch.diag(a) @ q.T, q @ mu2, q @ torch.diag(b) @ q.T)
    assert rotated == pytest.approx(expected, rel=1e-6)


def test_feature_stats_need_two_vectors():
    with pytest.raises(ValueError, match="at least 2"):
        feature_stats(torch.zeros(1, 4))


def test_real_digits_score_low_noise_high_one_class_collapses(classifier, small_data):
    assert classifier.test_accuracy > 0.85, "a few hundred steps on the subset already classify digits"
    n = 500
    train = score(classifier, to_tensor(small_data.train_images[:n]))
    noise = score(classifier, torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)) - 0.5)
    threes = small_data.train_images[small_data.train_labels == 3][:200]
    one_class = score(classifier, to_tensor(threes))
    assert noise.fid > 20 * train.fid, (train.fid, noise.fid)
    assert one_class.fid > 3 * train.fid, (train.fid, one_class.fid)
    assert sum(train.histogram) == n and min(train.histogram) > 0.05 * n, "real digits cover all ten classes"
    assert one_class.histogram.index(max(one_class.histogram)) == 3
    assert max(one_class.histogram) >= 0.9 * len(threes), one_class.histogram
    assert histogram_entropy(one_class.histogram) < 0.8 < 3.0 < histogram_entropy(train.histogram)
    assert train.confidence > noise.confidence or noise.histogram.count(0) >= 5


def test_histogram_and_confidence():
    probs = torch.tensor([[0.9, 0.1] + [0.0] * 8, [0.2, 0.8] + [0.0] * 8, [0.0] * 9 + [1.0]])
    assert class_histogram(probs) == [1, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert mean_confidence(probs) == pytest.approx((0.9 + 0.8 + 1.0) / 3)
    assert histogram_entropy([10] * 10) == pytest.approx(math.log2(10))
    assert histogram_entropy([0, 0, 7, 0, 0, 0, 0, 0, 0, 0]) == 0.0


def test_rmse_and_ssim_on_real_digits(small_data):
    x = to_tensor(small_data.test_images[:64])
    g = torch.Generator().manual_seed(0)
    assert rmse(x, x) == 0.0 and ssim(x, x) == pytest.approx(1.0)
    assert rmse(x + 0.1, x) == pytest.approx(0.1, rel=1e-6)
    noisy = [x + s * torch.randn(x.shape, generator=g) for s in (0.02, 0.1, 0.3)]
    values = [ssim(y, x) for y in noisy]
    assert values[0] > values[1] > values[2] and values[0] < 1.0
    assert ssim(noisy[1], x) == pytest.approx(ssim(x, noisy[1]), rel=1e-9), "SSIM is symmetric"
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    table = reconstruction_table(x, {"degraded": torch.zeros_like(x), "direct": blurred, "sampled": x})
    assert table["sampled"] == {"rmse": 0.0, "ssim": pytest.approx(1.0)}
    assert table["degraded"]["rmse"] > table["direct"]["rmse"] > 0
    assert table["degraded"]["ssim"] < table["direct"]["ssim"] < 1
    with pytest.raises(ValueError, match="shapes differ"):
        rmse(x[:3], x)
