"""One sampler: the timesteps at which the network is asked, and the step from one to the next.

As in diffusers, the loop lives in the process (`for t in sampler.timesteps: x = sampler.step(net(x, t),
t, x)`); a sampler holds only what it needs between steps (the next timestep, a random stream, the
previous prediction), so a fresh one is made for every batch.
"""

from __future__ import annotations

from typing import Any

import torch


class Sampler:
    """Made by a process with (process, steps, seed); `steps` None means the sampler's own default."""

    default_steps: int | None = None  # None: every step of the process

    def __init__(self, process: Any, steps: int | None, seed: int):
        self.process = process
        self.steps = steps if steps is not None else self.default_steps
        self.seed = seed
        self.timesteps: list[int] = []

    @classmethod
    def passes(cls, steps: int | None, n_T: int) -> int:
        """Network evaluations per sample for `steps` asked of a process with n_T steps."""
        return n_T

    def step(self, model_output: torch.Tensor, t: int, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def strided(n_T: int, steps: int) -> list[int]:
    """`steps` timesteps from n_T down to 1, evenly spaced and rounded (fewer when rounding merges some)."""
    steps = max(1, min(steps, n_T))
    ts = torch.linspace(n_T, 1, steps).round().long().tolist()
    return sorted(set(ts), reverse=True)
