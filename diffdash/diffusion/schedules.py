"""Noise schedules as plain functions."""

from __future__ import annotations

import torch


def ddpm_schedules(beta1: float, beta2: float, n_T: int) -> dict[str, torch.Tensor]:
    """The starter's linear schedule: n_T + 1 betas (index 0..n_T) and alpha_bar = cumprod(1 - beta)."""
    beta_t = (beta2 - beta1) * torch.arange(0, n_T + 1, dtype=torch.float32) / n_T + beta1
    alpha_t = torch.exp(torch.cumsum(torch.log(1 - beta_t), dim=0))
    return {"beta_t": beta_t, "alpha_t": alpha_t}
