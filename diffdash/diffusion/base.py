"""What the engine needs from a diffusion process: a training loss and samplers over one network.

A process owns its schedule (or degradation) and nothing else; the network is passed in. Adding a
process means adding a module and registering it in `diffdash.diffusion.build_process`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
from torch import nn

StopCheck = Callable[[], bool]


class SamplingStopped(Exception):
    """Raised inside a sampling loop when the caller asked to stop."""


class Process(Protocol):
    name: str
    samplers: tuple[str, ...]
    default_sampler: str

    def loss(self, net: nn.Module, x0: torch.Tensor, generator: torch.Generator) -> torch.Tensor: ...

    def sample(
        self,
        net: nn.Module,
        n: int,
        *,
        sampler: str,
        steps: int | None,
        seed: int,
        should_stop: StopCheck | None = None,
    ) -> torch.Tensor: ...


# Optional hooks a process may define (the engine calls them when present):
#   attach_data(train_x, val_x)                    held-out digits, e.g. for reconstructions
#   preview_variants(net, n, seed, should_stop)    -> {variant: images}: extra grids beside each preview,
#                                                     written to samples/<variant>/epoch_XXXX.png
#   forward_strip(x0)                              -> images (k, 1, 28, 28): one digit along t, for
#                                                     samples/forward.png, written once at the start


def check_stop(should_stop: StopCheck | None) -> None:
    if should_stop is not None and should_stop():
        raise SamplingStopped()


def seeded_normal(shape: tuple[int, ...], seed: int, device: torch.device | str) -> torch.Tensor:
    """Noise drawn on the CPU from `seed`, then moved: the same start on every device."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g).to(device)
