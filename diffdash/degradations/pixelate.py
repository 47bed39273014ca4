"""Pixelate (super-resolution): average-pool to a coarser grid and blow back up with nearest pixels.

t moves linearly along a ladder of resolutions from 28 down to `pixelate_min` and blends the two
neighbouring rungs, so the image coarsens at every step, not only where the resolution changes.
Each rung divides the one above (28, 14, 7, 1 or 28, 4): block averages are then nested orthogonal
projections, and the distance from the clean digit provably grows at every step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from diffdash.degradations.base import Degradation

LADDERS = {14: (28, 14), 7: (28, 14, 7), 4: (28, 4), 2: (28, 14, 2), 1: (28, 14, 7, 1)}
MIN_SIZES = tuple(LADDERS)


class Pixelate(Degradation):
    name = "pixelate"

    def __init__(self, n_T: int, *, min_size: int = 4, device: str | torch.device = "cpu"):
        super().__init__(n_T, device)
        if min_size not in MIN_SIZES:
            raise ValueError(f"pixelate size {min_size} is not one of {', '.join(map(str, MIN_SIZES))}")
        self.min_size = min_size
        self.ladder = list(LADDERS[min_size])

    @staticmethod
    def at(x: torch.Tensor, size: int) -> torch.Tensor:
        if size >= x.shape[-1]:
            return x
        small = F.adaptive_avg_pool2d(x, size)
        return F.interpolate(small, size=x.shape[-2:], mode="nearest")

    def degrade(self, x0: torch.Tensor, t: torch.Tensor, params: torch.Tensor | None) -> torch.Tensor:
        pos = t.float() * (len(self.ladder) - 1) / self.n_T
        lo = pos.floor().long().clamp(max=len(self.ladder) - 1)
        w = (pos - lo.float())[:, None, None, None]
        levels = torch.stack([self.at(x0, r) for r in self.ladder])  # (L, B, 1, H, W)
        b = torch.arange(x0.shape[0], device=x0.device)
        hi = (lo + 1).clamp(max=len(self.ladder) - 1)
        return (1 - w) * levels[lo, b] + w * levels[hi, b]

    def describe(self) -> str:
        return f"pixelate to {self.min_size}x{self.min_size}"


def build(config, device: str = "cpu") -> Pixelate:
    return Pixelate(config.n_T, min_size=config.pixelate_min, device=device)
