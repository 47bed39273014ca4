"""Gaussian blur as in Bansal et al.'s deblurring code: torchgeometry kernels applied with conv2d.

D(x0, t) is x0 after the first t step kernels, one after another (the coursework applied only the
t-th kernel). Circular padding has a closed form: every step is a circular convolution, so the
product of the kernels' Fourier transforms gives D(x0, t) in one FFT; a test checks it against the
iterated convolutions. Reflect and zero padding are iterated.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from diffdash.degradations.base import Degradation
from diffdash.mnist.digits import DATA_LOW
from diffdash.options.cold_options import BLUR_SCHEDULES, PADDINGS


def step_sigmas(std: float, n_T: int, schedule: str, kernel_size: int = 11) -> list[float]:
    """Per-step kernel σ. constant: σ each step (Bansal 'Constant'); growing: σ·i (Bansal 'Incremental',
    the coursework's routine); linear: σ·sqrt(2i-1), so the total σ (root sum of squares) is σ·t;
    even: chosen so the digits' variance falls by equal amounts per level (degradations/levels.py)."""
    if schedule == "even":
        from diffdash.degradations.levels import even_sigmas

        return list(even_sigmas(kernel_size, float(std), n_T))
    if schedule == "constant":
        return [std] * n_T
    if schedule == "growing":
        return [std * i for i in range(1, n_T + 1)]
    if schedule == "linear":
        return [std * math.sqrt(2 * i - 1) for i in range(1, n_T + 1)]
    raise ValueError(f"unknown blur schedule {schedule!r}: choose one of {', '.join(BLUR_SCHEDULES)}")


def gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    """torchgeometry's normalised 2-D Gaussian (the design card's choice), as float32 (size, size)."""
    from torchgeometry.image.gaussian import get_gaussian_kernel2d

    return get_gaussian_kernel2d((size, size), (float(sigma), float(sigma))).float()


class Blur(Degradation):
    name = "blur"

    def __init__(
        self,
        n_T: int,
        *,
        kernel_size: int = 11,
        kernel_std: float = 7.0,
        schedule: str = "constant",
        padding: str = "circular",
        device: str | torch.device = "cpu",
        image_size: int = 28,
    ):
        super().__init__(n_T, device)
        if padding not in PADDINGS:
            raise ValueError(f"unknown padding {padding!r}: choose one of {', '.join(PADDINGS)}")
        self.kernel_size, self.kernel_std, self.schedule, self.padding = kernel_size, kernel_std, schedule, padding
        self.sigmas = step_sigmas(kernel_std, n_T, schedule, kernel_size)
        kernels = torch.stack([gaussian_kernel(kernel_size, s) for s in self.sigmas])
        self.kernels = kernels[:, None].to(self.device)  # (n_T, 1, k, k) conv2d weights
        self.image_size = image_size
        self.transfer = (
            self._cumulative_transfer(kernels, image_size).to(self.device) if padding == "circular" else None
        )

    @staticmethod
    def _cumulative_transfer(kernels: torch.Tensor, size: int) -> torch.Tensor:
        """(n_T + 1, size, size//2 + 1): the Fourier transform of the first t kernels, wrapped circularly."""
        n, k, _ = kernels.shape
        c = k // 2
        wrapped = torch.zeros(n, size, size, dtype=torch.float64)
        idx = (torch.arange(k) - c) % size
        for a in range(k):
            for b in range(k):
                # cross-correlation by the kernel == convolution by its flip; the flip sits at -offset
                wrapped[:, (-idx[a]) % size, (-idx[b]) % size] += kernels[:, a, b].double()
        steps = torch.fft.rfft2(wrapped)
        ones = torch.ones(1, *steps.shape[1:], dtype=steps.dtype)
        return torch.cat([ones, torch.cumprod(steps, dim=0)])

    def blur_once(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """Apply step kernel i (1-based) with this degradation's padding."""
        p = self.kernel_size // 2
        if self.padding == "zero":
            x = F.pad(x, (p, p, p, p), mode="constant", value=DATA_LOW)  # outside the image is black
        else:
            x = F.pad(x, (p, p, p, p), mode=self.padding)
        return F.conv2d(x, self.kernels[i - 1 : i])

    def iterated(self, x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """D(x0, t) by applying kernels 1..t one after another, each image stopping at its own t."""
        out = x0.clone()
        x = x0
        for i in range(1, int(t.max()) + 1 if t.numel() else 1):
            x = self.blur_once(x, i)
            hit = t == i
            if hit.any():
                out[hit] = x[hit]
        return out

    def degrade(self, x0: torch.Tensor, t: torch.Tensor, params: torch.Tensor | None) -> torch.Tensor:
        if self.transfer is None or x0.shape[-1] != self.image_size or x0.shape[-2] != self.image_size:
            return self.iterated(x0, t)
        spectrum = torch.fft.rfft2(x0.double()) * self.transfer[t][:, None]
        return torch.fft.irfft2(spectrum, s=x0.shape[-2:]).float()

    def describe(self) -> str:
        return f"blur k{self.kernel_size} σ{self.kernel_std:g} {self.schedule} {self.padding}"


def build(config, device: str = "cpu") -> Blur:
    return Blur(
        config.n_T,
        kernel_size=config.kernel_size,
        kernel_std=config.kernel_std,
        schedule=config.blur_schedule,
        padding=config.padding,
        device=device,
    )
