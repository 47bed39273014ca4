"""The hand-written numerics checked against well-kept libraries (test-only dependencies).

diffdash keeps its own Gaussian-mixture EM (cold-diffusion prior), SSIM and Fréchet distance in torch
(no scipy/scikit-learn/scikit-image at run time: benchmarks/bench_reference_libs.py measures why);
these tests hold them to scikit-learn's GaussianMixture, scikit-image's structural_similarity and the
scipy.linalg.sqrtm form of the Fréchet distance, on real MNIST digits.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from diffdash.diffusion.cold_prior import fit_gmm
from diffdash.metrics.fid import feature_stats, frechet_distance
from diffdash.metrics.recon import ssim
from diffdash.mnist.load import load_bundled, to_tensor


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny matrices: one thread is fastest, and immune to a busy machine's thread contention (30x here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    """Real MNIST test digits in the data range [-0.5, 0.5], (N, 1, 28, 28)."""
    return to_tensor(load_bundled().test_images[:600], "cpu")


def pca(x: torch.Tensor, d: int, pool: int = 4) -> torch.Tensor:
    """Top-d principal components of the digits, average-pooled first so the SVD is small (fast)."""
    flat = torch.nn.functional.avg_pool2d(x.double(), pool).flatten(1)
    centred = flat - flat.mean(0)
    _, _, vt = torch.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:d].T


@pytest.mark.slow
def test_gmm_em_matches_scikit_learns_gaussian_mixture(digits):
    mixture = pytest.importorskip("sklearn.mixture", reason="scikit-learn is in the test extra")
    from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

    z = pca(digits, 6)
    k, iters = 5, 25
    w0, m0, c0 = fit_gmm(z, k, iters=0)  # diffdash's own starting point, handed to scikit-learn as its init
    reg = float(1e-4 * z.var(dim=0).mean())
    ref = mixture.GaussianMixture(
        n_components=k, covariance_type="full", reg_covar=reg, max_iter=iters, tol=0.0, init_params="random_from_data",
        weights_init=w0.numpy(), means_init=m0.numpy(), precisions_init=torch.linalg.inv(c0).numpy(),
    )  # fmt: skip
    with warnings.catch_warnings(), threadpool_limits(1):  # one BLAS thread: tiny matrices, busy machines
        warnings.simplefilter("ignore")  # tol=0 never "converges": both run exactly `iters` EM steps
        ref.fit(z.numpy())
    w, m, c = fit_gmm(z, k, iters=iters)
    assert not torch.allclose(m, m0), "EM moved the means"
    np.testing.assert_allclose(w.numpy(), ref.weights_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(m.numpy(), ref.means_, rtol=1e-6, atol=1e-8 * float(z.abs().max()))
    np.testing.assert_allclose(c.numpy(), ref.covariances_, rtol=1e-6, atol=1e-8 * float(c.abs().max()))


def test_ssim_matches_scikit_image(digits):
    metrics = pytest.importorskip("skimage.metrics", reason="scikit-image is in the test extra")
    g = torch.Generator().manual_seed(0)
    originals = digits[:64]
    for noisy in (
        originals + 0.1 * torch.randn(originals.shape, generator=g),
        torch.nn.functional.avg_pool2d(originals, 3, stride=1, padding=1),
        torch.zeros_like(originals),
    ):
        ours = ssim(noisy, originals)
        ref = np.mean([
            metrics.structural_similarity(
                a[0].double().numpy(), b[0].double().numpy(), data_range=1.0,
                gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
            )
            for a, b in zip(noisy, originals, strict=True)
        ])  # fmt: skip
        assert ours == pytest.approx(ref, abs=1e-10)
    assert ssim(originals, originals) == pytest.approx(1.0, abs=1e-12)


def scipy_frechet(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """The usual FID formula (as in pytorch-fid): |mu1 - mu2|^2 + tr(S1 + S2 - 2 sqrtm(S1 S2))."""
    from scipy import linalg

    covmean = linalg.sqrtm(s1 @ s2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_frechet_distance_matches_scipys_sqrtm(digits):
    pytest.importorskip("scipy.linalg", reason="scipy is in the test extra")
    feats = pca(torch.cat([digits, torch.nn.functional.avg_pool2d(digits, 5, stride=1, padding=2)]), 32, pool=2)
    real, other = feats[:600], feats[600:]
    for a, b in ((real[:300], real[300:]), (real, other)):
        mu1, s1 = feature_stats(a)
        mu2, s2 = feature_stats(b)
        ours = frechet_distance(mu1, s1, mu2, s2)
        ref = scipy_frechet(mu1.numpy(), s1.numpy(), mu2.numpy(), s2.numpy())
        assert ours == pytest.approx(ref, rel=1e-7), (ours, ref)
    mu, s = feature_stats(real)
    assert frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-8)
