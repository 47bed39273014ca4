"""A prior over partly degraded digits, so cold diffusion can generate instead of only restore.

Heavy blur sends every digit to nearly the same flat image, so starting from D(x, n_T) gives no
variety. Instead we fit a Gaussian mixture to training digits degraded to a level t* (where they
are still distinguishable), in the space of their top principal components (a learned
down-sampling: blurred digits live in few dimensions), draw x_{t*} from it and restore from t*.
"""

from __future__ import annotations

import torch

FIT_IMAGES = 10_000
PRIOR_SEED = 1234


def fit_gmm(
    z: torch.Tensor, k: int, *, iters: int = 60, seed: int = PRIOR_SEED
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """EM for a full-covariance mixture on (N, d) float64 rows: (weights (k,), means (k, d), covs (k, d, d))."""
    n, d = z.shape
    g = torch.Generator().manual_seed(seed)
    k = max(1, min(k, n))
    means = z[torch.randperm(n, generator=g)[:k]].clone()
    reg = 1e-4 * z.var(dim=0).mean() * torch.eye(d, dtype=z.dtype)
    covs = (torch.cov(z.T).reshape(d, d) + reg).expand(k, d, d).clone()
    weights = torch.full((k,), 1.0 / k, dtype=z.dtype)
    for _ in range(iters):
        dist = torch.distributions.MultivariateNormal(means, covariance_matrix=covs)
        logp = dist.log_prob(z[:, None, :]) + weights.log()[None]
        r = torch.softmax(logp, dim=1)
        nk = r.sum(0) + 1e-10
        weights = nk / n
        means = (r.T @ z) / nk[:, None]
        diff = z[:, None, :] - means[None]
        covs = torch.einsum("nk,nki,nkj->kij", r, diff, diff) / nk[:, None, None] + reg
    return weights, means, covs


class GaussianMixturePrior:
    """A mixture over the top principal components of images degraded to t*."""

    def __init__(self, images: torch.Tensor, *, components: int = 10, dims: int = 24):
        x = images.detach().double().cpu().flatten(1)
        self.shape = images.shape[1:]
        self.mean = x.mean(0)
        _, s, vt = torch.linalg.svd(x - self.mean, full_matrices=False)
        self.dims = min(dims, vt.shape[0])
        self.basis = vt[: self.dims]  # (d, P)
        self.explained = float((s[: self.dims] ** 2).sum() / (s**2).sum().clamp_min(1e-30))
        z = (x - self.mean) @ self.basis.T
        self.weights, self.means, covs = fit_gmm(z, components)
        self.chol = torch.linalg.cholesky(covs)

    def sample(self, n: int, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        comp = torch.multinomial(self.weights, n, replacement=True, generator=g)
        eps = torch.randn((n, self.dims, 1), generator=g, dtype=torch.float64)
        z = self.means[comp] + (self.chol[comp] @ eps)[..., 0]
        x = self.mean + z @ self.basis
        return x.float().reshape(n, *self.shape).to(device)
