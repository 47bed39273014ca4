"""Networks: the coursework starter's CNN (time-conditioned, image in, image out)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from diffdash.models.cnn import CNN

if TYPE_CHECKING:
    from diffdash.config import RunConfig


def build_network(config: RunConfig) -> torch.nn.Module:
    """The restorer network, initialised from the run's seed without touching the global RNG.

    Training, sampling and evaluation all build it here, so a checkpoint's weights always fit.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return CNN(config.n_hidden, norm=config.norm)
