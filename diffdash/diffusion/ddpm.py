"""DDPM as in the coursework starter: predict the noise, ancestral sampling with sigma^2 = beta; plus DDIM."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from diffdash.data import DATA_HIGH, DATA_LOW
from diffdash.diffusion.base import StopCheck, check_stop, seeded_normal
from diffdash.diffusion.schedules import ddpm_schedules

IMAGE_SHAPE = (1, 28, 28)


class DDPM:
    name = "ddpm"
    samplers = ("ancestral", "ddim")
    default_sampler = "ddim"

    def __init__(self, betas: tuple[float, float] = (1e-4, 0.02), n_T: int = 1000, device: str = "cpu"):
        self.n_T = n_T
        self.device = torch.device(device)
        sched = ddpm_schedules(betas[0], betas[1], n_T)
        self.beta_t = sched["beta_t"].to(self.device)
        self.alpha_t = sched["alpha_t"].to(self.device)

    def noised(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        a = self.alpha_t[t, None, None, None]
        return torch.sqrt(a) * x0 + torch.sqrt(1 - a) * eps

    def loss(self, net: nn.Module, x0: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        t = torch.randint(1, self.n_T, (x0.shape[0],), device=x0.device, generator=generator)
        eps = torch.randn(x0.shape, device=x0.device, generator=generator)
        z_t = self.noised(x0, t, eps)
        return F.mse_loss(net(z_t, t / self.n_T), eps)

    @torch.no_grad()
    def sample(
        self,
        net: nn.Module,
        n: int,
        *,
        sampler: str = "ddim",
        steps: int | None = None,
        seed: int = 0,
        should_stop: StopCheck | None = None,
    ) -> torch.Tensor:
        z = seeded_normal((n, *IMAGE_SHAPE), seed, self.device)
        if sampler == "ancestral":
            return self.ancestral(net, z, seed, should_stop)
        if sampler == "ddim":
            return self.ddim(net, z, steps or 50, should_stop)
        raise ValueError(f"unknown sampler {sampler!r} for ddpm: choose one of {', '.join(self.samplers)}")

    def ancestral(self, net: nn.Module, z: torch.Tensor, seed: int, should_stop: StopCheck | None) -> torch.Tensor:
        """The starter's loop: n_T steps, fresh noise with sigma^2 = beta at each but the last."""
        g = torch.Generator().manual_seed(seed + 1)
        ones = torch.ones(z.shape[0], device=z.device)
        for i in range(self.n_T, 0, -1):
            check_stop(should_stop)
            a, b = self.alpha_t[i], self.beta_t[i]
            z = (z - b / torch.sqrt(1 - a) * net(z, (i / self.n_T) * ones)) / torch.sqrt(1 - b)
            if i > 1:
                z = z + torch.sqrt(b) * torch.randn(z.shape, generator=g).to(z.device)
        return z

    def ddim_timesteps(self, steps: int) -> list[int]:
        steps = max(1, min(steps, self.n_T))
        ts = torch.linspace(self.n_T, 1, steps).round().long().tolist()
        return sorted(set(ts), reverse=True)

    def ddim(self, net: nn.Module, z: torch.Tensor, steps: int, should_stop: StopCheck | None) -> torch.Tensor:
        """Deterministic DDIM (eta = 0) over strided steps; x0 estimates clipped to the data range."""
        ones = torch.ones(z.shape[0], device=z.device)
        ts = self.ddim_timesteps(steps)
        x0 = z
        for k, t in enumerate(ts):
            check_stop(should_stop)
            a = self.alpha_t[t]
            eps = net(z, (t / self.n_T) * ones)
            x0 = ((z - torch.sqrt(1 - a) * eps) / torch.sqrt(a)).clamp(DATA_LOW, DATA_HIGH)
            eps = (z - torch.sqrt(a) * x0) / torch.sqrt(1 - a)
            a_prev = self.alpha_t[ts[k + 1]] if k + 1 < len(ts) else None
            if a_prev is None:
                return x0
            z = torch.sqrt(a_prev) * x0 + torch.sqrt(1 - a_prev) * eps
        return x0
