"""Reconstruction figures for cold diffusion: RMSE and SSIM of restored digits against the originals.

Bansal et al. report, per degradation, the degraded inputs, the one-step ("direct") restoration and the
sampled one against the originals; `reconstruction_table` gives exactly those rows. Images are in the
data range [-0.5, 0.5], so the SSIM data range L is 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from diffdash.mnist.digits import DATA_HIGH, DATA_LOW

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5


def rmse(images: torch.Tensor, originals: torch.Tensor) -> float:
    """Root mean squared error over all pixels, in data units (the range is 1 wide)."""
    _check(images, originals)
    return float(((images.double() - originals.double()) ** 2).mean().sqrt())


def _gaussian(size: int, sigma: float) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _blur(maps: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The 2-D Gaussian window as two 1-D passes (11 + 11 taps instead of 121), valid region only."""
    c = maps.shape[1]
    maps = F.conv2d(maps, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return F.conv2d(maps, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)


def ssim(images: torch.Tensor, originals: torch.Tensor, data_range: float = DATA_HIGH - DATA_LOW) -> float:
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, valid region)."""
    _check(images, originals)
    x, y = images.double().cpu(), originals.double().cpu()
    if x.ndim == 3:
        x, y = x[:, None], y[:, None]
    mu_x, mu_y, exx, eyy, exy = _blur(
        torch.cat([x, y, x * x, y * y, x * y], 1), _gaussian(SSIM_WINDOW, SSIM_SIGMA)
    ).chunk(5, dim=1)
    sxx, syy, sxy = exx - mu_x**2, eyy - mu_y**2, exy - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2))
    return float(s.mean())


def reconstruction_table(originals: torch.Tensor, rows: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """{"degraded": x_T, "direct": R(x_T, T), "sampled": ...} -> {row: {"rmse": ..., "ssim": ...}}."""
    return {name: {"rmse": rmse(images, originals), "ssim": ssim(images, originals)} for name, images in rows.items()}


def format_table(table: dict[str, dict[str, float]]) -> str:
    lines = [f"{'':<12}{'RMSE':>8}{'SSIM':>8}"]
    lines += [f"{name:<12}{v['rmse']:>8.4f}{v['ssim']:>8.4f}" for name, v in table.items()]
    return "\n".join(lines)


def _check(images: torch.Tensor, originals: torch.Tensor) -> None:
    if images.shape != originals.shape:
        raise ValueError(f"shapes differ: {tuple(images.shape)} vs originals {tuple(originals.shape)}")
