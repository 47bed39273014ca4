"""The starter's ancestral sampler: every step n_T..1, fresh noise with sigma^2 = beta at each but the last."""

from __future__ import annotations

import torch

from diffdash.diffusion.samplers.base import Sampler


class Ancestral(Sampler):
    def __init__(self, process, steps: int | None, seed: int):
        super().__init__(process, steps, seed)
        self.timesteps = list(range(process.n_T, 0, -1))
        self.generator = torch.Generator().manual_seed(seed + 1)

    def step(self, model_output: torch.Tensor, t: int, x: torch.Tensor) -> torch.Tensor:
        a, b = self.process.alpha_t[t], self.process.beta_t[t]
        x = (x - b / torch.sqrt(1 - a) * model_output) / torch.sqrt(1 - b)
        if t > 1:
            x = x + torch.sqrt(b) * torch.randn(x.shape, generator=self.generator).to(x.device)
        return x
