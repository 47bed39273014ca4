"""Cold diffusion's samplers (Bansal et al. 2022) over a restorer R that predicts x0 from x_s:
  direct  one step: x̂0 = R(x_s, s)
  alg1    x_{s'} = D(R(x_s, s), s')                 (Algorithm 1)
  alg2    x_{s'} = x_s - D(x̂0, s) + D(x̂0, s')      (Algorithm 2, robust to an imperfect R)
with s' the next timestep (every step, or a strided subset when fewer steps are asked for). The model
output each step receives is the clipped x̂0; `params` are the degradation's per-image choices.
"""

from __future__ import annotations

import torch

from diffdash.diffusion.samplers.base import Sampler


class ColdSampler(Sampler):
    """Made with `start` (the level s sampling begins at) and the degradation's `params`."""

    one_step = False

    def __init__(self, process, steps: int | None, seed: int, *, start: int, params: torch.Tensor | None = None):
        super().__init__(process, 1 if self.one_step else steps, seed)
        path = process.timesteps(start, self.steps)  # start, ..., 0
        self.timesteps = path[:-1]
        self.next = dict(zip(path, path[1:], strict=False))
        self.params = params

    def step(self, model_output: torch.Tensor, t: int, x: torch.Tensor) -> torch.Tensor:
        return self.process.degradation(model_output, self.next[t], self.params)  # D(x, 0) = x


class Direct(ColdSampler):
    one_step = True


class Algorithm1(ColdSampler):
    pass


class Algorithm2(ColdSampler):
    def step(self, model_output: torch.Tensor, t: int, x: torch.Tensor) -> torch.Tensor:
        d = self.process.degradation
        return x - d(model_output, t, self.params) + d(model_output, self.next[t], self.params)
