"""What the engine needs from a diffusion process: a training loss and samplers over one network.

A process owns its schedule (or degradation) and nothing else; the network is passed in, and the data
it may need (held-out digits to reconstruct, training digits to fit a prior) is handed to it with
`attach_data`. The hooks below are no-ops here, so callers call them on every process instead of
probing which ones exist. Adding a process means adding a module and registering it in
`diffdash.diffusion.build_process`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

StopCheck = Callable[[], bool]


class SamplingStopped(Exception):
    """Raised inside a sampling loop when the caller asked to stop."""


class Process:
    name = "base"
    needs_data = False  # whether sampling reads the digits handed over by attach_data (`sample` loads them)

    def loss(
        self,
        net: nn.Module,
        x0: torch.Tensor,
        generator: torch.Generator,
        rows: slice | None = None,
        y: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The mean training loss of batch `x0`. `rows`: one data-parallel worker's share of a global batch;
        the random draws are still made for every row (so all workers draw alike), the network runs on `rows`.
        `y`: the batch's labels, for a class-conditional run (DDPM only)."""
        raise NotImplementedError

    def sample(
        self,
        net: nn.Module,
        n: int,
        *,
        sampler: str,
        steps: int | None,
        seed: int,
        should_stop: StopCheck | None = None,
    ) -> torch.Tensor:
        raise NotImplementedError

    def attach_data(self, train_x: torch.Tensor, val_x: torch.Tensor) -> None:
        """The run's training and held-out digits, (N, 1, 28, 28) in the data range, limits applied."""

    def preview_variants(
        self, net: nn.Module, n: int, seed: int, should_stop: StopCheck | None = None
    ) -> dict[str, torch.Tensor]:
        """{variant: images}: extra grids beside each preview, written to samples/<variant>/epoch_XXXX.png."""
        return {}

    def preview_passes(self, sampler: str, steps: int | None) -> int:
        """How often one preview (its grid and its variants) asks `should_stop`: the total its progress
        counts to ("sampling 35/50")."""
        from diffdash.diffusion.samplers import passes

        return passes(self.name, sampler, steps, int(getattr(self, "n_T", 0)))

    def forward_strip(self, x0: torch.Tensor) -> torch.Tensor | None:
        """One digit along t, (k, 1, 28, 28), for samples/forward.png (written once at the start), or None."""
        return None

    def reconstruction_sets(
        self, net: nn.Module, x0: torch.Tensor, *, sampler: str, steps: int | None, seed: int
    ) -> dict[str, torch.Tensor] | None:
        """Bansal et al.'s rows {"degraded", "direct", "sampled"} for a process that restores x0, else None."""
        return None


def check_stop(should_stop: StopCheck | None) -> None:
    if should_stop is not None and should_stop():
        raise SamplingStopped()


def seeded_normal(shape: tuple[int, ...], seed: int, device: torch.device | str) -> torch.Tensor:
    """Noise drawn on the CPU from `seed`, then moved: the same start on every device."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g).to(device)
