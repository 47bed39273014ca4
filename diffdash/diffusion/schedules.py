"""Beta schedules as plain named functions: each gives n_T + 1 betas (index 0..n_T) for `--schedule`.

Adding a schedule: one function here with its line in SCHEDULES, and its test. Torch is imported inside
the functions, so the names stay cheap for option validation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

COSINE_OFFSET = 0.008  # Nichol & Dhariwal's s: keeps beta_1 from being vanishingly small
MAX_BETA = 0.999  # their clip, so the last steps of the cosine schedule stay invertible


def linear_beta_schedule(n_T: int, betas: tuple[float, float]) -> torch.Tensor:
    """The starter's schedule: betas from beta1 at t = 0 to beta2 at t = n_T, evenly spaced (float32)."""
    import torch

    beta1, beta2 = betas
    return (beta2 - beta1) * torch.arange(0, n_T + 1, dtype=torch.float32) / n_T + beta1


def cosine_alpha_bar(t: float, n_T: int, s: float = COSINE_OFFSET) -> float:
    """Nichol & Dhariwal (2021), eq. 17: alpha_bar(t) = f(t) / f(0), f(t) = cos(((t/T + s) / (1 + s)) · π/2)²."""

    def f(u: float) -> float:
        return math.cos((u / n_T + s) / (1 + s) * math.pi / 2) ** 2

    return f(t) / f(0)


def cosine_beta_schedule(n_T: int, betas: tuple[float, float] = (0.0, 0.0)) -> torch.Tensor:
    """Improved DDPM's cosine schedule: beta_t = 1 - alpha_bar(t) / alpha_bar(t-1), clipped at 0.999, and
    beta_0 = 0, so the cumulative product is alpha_bar(t) itself. Its shape is fixed: `betas` (the linear
    schedule's end points) are not used."""
    import torch

    out = [0.0] + [
        min(1 - cosine_alpha_bar(t, n_T) / cosine_alpha_bar(t - 1, n_T), MAX_BETA) for t in range(1, n_T + 1)
    ]
    return torch.tensor(out, dtype=torch.float64).float()


SCHEDULES: dict[str, Callable[[int, tuple[float, float]], torch.Tensor]] = {
    "linear": linear_beta_schedule,
    "cosine": cosine_beta_schedule,
}


def beta_schedule(name: str, n_T: int, betas: tuple[float, float]) -> torch.Tensor:
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}: choose one of {', '.join(SCHEDULES)}")
    return SCHEDULES[name](n_T, betas)


def ddpm_schedules(beta1: float, beta2: float, n_T: int) -> dict[str, torch.Tensor]:
    """The linear schedule's betas and alpha_bar = cumprod(1 - beta), as the starter notebook named them."""
    import torch

    beta_t = linear_beta_schedule(n_T, (beta1, beta2))
    return {"beta_t": beta_t, "alpha_t": torch.exp(torch.cumsum(torch.log(1 - beta_t), dim=0))}
