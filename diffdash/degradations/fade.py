"""Fade: blend linearly toward a constant image, black or the MNIST mean pixel, reached at t = n_T."""

from __future__ import annotations

import torch

from diffdash.degradations.base import Degradation
from diffdash.mnist.digits import DATA_LOW
from diffdash.options.cold_options import FADE_TARGETS

MNIST_MEAN = 0.1307  # mean pixel of the MNIST training set on a 0..1 scale


class Fade(Degradation):
    name = "fade"

    def __init__(self, n_T: int, *, to: str = "black", device: str | torch.device = "cpu"):
        super().__init__(n_T, device)
        if to not in FADE_TARGETS:
            raise ValueError(f"unknown fade target {to!r}: choose one of {', '.join(FADE_TARGETS)}")
        self.to = to
        self.value = DATA_LOW if to == "black" else DATA_LOW + MNIST_MEAN

    def degrade(self, x0: torch.Tensor, t: torch.Tensor, params: torch.Tensor | None) -> torch.Tensor:
        a = (t.float() / self.n_T)[:, None, None, None]
        return (1 - a) * x0 + a * self.value

    def describe(self) -> str:
        return f"fade to {self.to}"


def build(config, device: str = "cpu") -> Fade:
    return Fade(config.n_T, to=config.fade_to, device=device)
