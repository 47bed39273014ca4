"""Fréchet distance between two sets of classifier features: "FID (MNIST classifier)", never Inception FID.

FID = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2). The trace of the matrix square root is
taken from the eigenvalues of the symmetric product S1^1/2 S2 S1^1/2, which is PSD, so no scipy and
no complex parts to discard. Everything is float64.
"""

from __future__ import annotations

import torch

FID_KIND = "mnist-classifier"
FID_LABEL = "FID (MNIST classifier)"


def feature_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (unbiased) covariance of (N, D) features, in float64."""
    f = features.detach().double().cpu()
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need at least 2 feature vectors of shape (N, D), got {tuple(f.shape)}")
    mu = f.mean(0)
    centred = f - mu
    sigma = centred.T @ centred / (len(f) - 1)
    return mu, sigma


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    mu1, mu2, sigma1, sigma2 = (t.double().cpu() for t in (mu1, mu2, sigma1, sigma2))
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    vals = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0)
    value = float(((mu1 - mu2) ** 2).sum() + torch.trace(sigma1) + torch.trace(sigma2) - 2 * vals.sqrt().sum())
    return max(value, 0.0)


def fid_from_features(features: torch.Tensor, real_mu: torch.Tensor, real_sigma: torch.Tensor) -> float:
    mu, sigma = feature_stats(features)
    return frechet_distance(mu, sigma, real_mu, real_sigma)
