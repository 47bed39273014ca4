"""Mask (inpainting): a Gaussian-shaped hole, black inside, whose width grows linearly with t.

Pixels keep 1 - exp(-d²/2s_t²) of their brightness above black, d their distance to the hole's
centre and s_t = mask_std · t / n_T. The centre is the image centre, or a random place per image
(drawn once per image and passed back on every call).
"""

from __future__ import annotations

import torch

from diffdash.degradations.base import Degradation
from diffdash.mnist.digits import DATA_LOW
from diffdash.options.cold_options import MASK_PLACES


class Mask(Degradation):
    name = "mask"

    def __init__(
        self,
        n_T: int,
        *,
        mask_std: float = 12.0,
        place: str = "centre",
        device: str | torch.device = "cpu",
        image_size: int = 28,
    ):
        super().__init__(n_T, device)
        if place not in MASK_PLACES:
            raise ValueError(f"unknown mask place {place!r}: choose one of {', '.join(MASK_PLACES)}")
        self.mask_std, self.place, self.size = float(mask_std), place, image_size

    def centres(self, n: int) -> torch.Tensor:
        return torch.full((n, 2), (self.size - 1) / 2, device=self.device)

    def draw_params(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        if self.place == "centre":
            return self.centres(n)
        dev = generator.device if generator is not None else self.device
        return (torch.rand((n, 2), generator=generator, device=dev) * (self.size - 1)).to(self.device)

    def generation_params(self, n: int) -> torch.Tensor | None:
        return self.centres(n)

    def keep(self, t: torch.Tensor, centres: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        h, w = shape
        ys = torch.arange(h, device=centres.device, dtype=torch.float32)[None, :, None]
        xs = torch.arange(w, device=centres.device, dtype=torch.float32)[None, None, :]
        d2 = (ys - centres[:, 0, None, None]) ** 2 + (xs - centres[:, 1, None, None]) ** 2
        s = (t.float() * self.mask_std / self.n_T).clamp_min(1e-6)[:, None, None]
        keep = 1 - torch.exp(-d2 / (2 * s**2))
        return torch.where((t > 0)[:, None, None], keep, torch.ones_like(keep))[:, None]

    def degrade(self, x0: torch.Tensor, t: torch.Tensor, params: torch.Tensor | None) -> torch.Tensor:
        centres = params.to(x0.device) if params is not None else self.centres(x0.shape[0]).to(x0.device)
        return DATA_LOW + (x0 - DATA_LOW) * self.keep(t, centres, x0.shape[-2:])

    def describe(self) -> str:
        return f"mask std {self.mask_std:g} {self.place}"


def build(config, device: str = "cpu") -> Mask:
    return Mask(config.n_T, mask_std=config.mask_std, place=config.mask_place, device=device)
