"""Deterministic DDIM (eta = 0) over strided steps; x0 estimates clipped to the data range."""

from __future__ import annotations

import torch

from diffdash.diffusion.samplers.base import Sampler, strided
from diffdash.mnist.digits import DATA_HIGH, DATA_LOW


class DDIM(Sampler):
    default_steps = 50

    def __init__(self, process, steps: int | None, seed: int):
        super().__init__(process, steps, seed)
        self.timesteps = strided(process.n_T, self.steps)
        self.next = dict(zip(self.timesteps, self.timesteps[1:], strict=False))

    @classmethod
    def passes(cls, steps: int | None, n_T: int) -> int:
        return min(steps or cls.default_steps, n_T)

    def step(self, model_output: torch.Tensor, t: int, x: torch.Tensor) -> torch.Tensor:
        """x at the next timestep; at the last one (t = 1) the clipped x0 estimate itself."""
        a = self.process.alpha_t[t]
        x0 = ((x - torch.sqrt(1 - a) * model_output) / torch.sqrt(a)).clamp(DATA_LOW, DATA_HIGH)
        if t not in self.next:
            return x0
        eps = (x - torch.sqrt(a) * x0) / torch.sqrt(1 - a)
        a_prev = self.process.alpha_t[self.next[t]]
        return torch.sqrt(a_prev) * x0 + torch.sqrt(1 - a_prev) * eps
