"""Classifier-free guidance (Ho & Salimans 2022, eq. 6): the noise prediction every DDPM sampler steps with.

    eps = (1 + w) * eps(x, t, label) - w * eps(x, t, no label)

w = 0 is the purely conditional model (one pass); for w > 0 the conditional and unconditional predictions
come from one forward pass over the batch twice over (labels, then the "no label" entry), so guidance costs
one pass twice as wide rather than two passes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def guided(
    net: nn.Module, labels: torch.Tensor, null_label: int | None, guidance: float
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """(x, t) -> the guided noise prediction for `labels` (n,)."""
    if guidance < 0:
        raise ValueError(f"guidance must be zero or above, got {guidance}")
    if guidance == 0:
        return lambda x, t: net(x, t, labels)
    if null_label is None:
        raise ValueError("guidance needs a network trained with a 'no label' entry (--cond class)")
    both = torch.cat((labels, torch.full_like(labels, null_label)))

    def predict(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        cond, uncond = net(torch.cat((x, x)), torch.cat((t, t)), both).chunk(2)
        return cond + guidance * (cond - uncond)

    return predict


def digit_rows(per_digit: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Labels 0,0,..,1,1,..,9: a grid `per_digit` wide has one row per digit."""
    return torch.arange(10, device=device).repeat_interleave(per_digit)


def balanced_labels(n: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """0,1,..,9,0,1,..: n labels with every digit equally often (to within one)."""
    return torch.arange(n, device=device) % 10
