"""The training step of one process, plain: the process's loss on the whole batch, the network unwrapped.

Data-parallel training wraps it from above: with several workers `step_for` returns
`distributed.parallel.DataParallel` instead, which has the same two attributes and the same `loss`, so the loop
(`training/loop.py`) never asks how many workers there are to take a step.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from diffdash.distributed.world import World


class Step(Protocol):
    world: World
    net: torch.nn.Module

    def loss(
        self, process: Any, x: torch.Tensor, gen: torch.Generator, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]: ...


class OneProcess:
    def __init__(self, world: World, net: torch.nn.Module):
        self.world = world
        self.net = net

    def loss(
        self, process: Any, x: torch.Tensor, gen: torch.Generator, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(what to backward, the batch's mean loss to record): the same tensor, with one process."""
        loss = process.loss(self.net, x, gen, **({"y": y} if y is not None else {}))
        return loss, loss


def step_for(world: World, net: torch.nn.Module, device: str) -> Step:
    """The step of this world: the plain one for one process, the data-parallel wrapper for several."""
    if not world.distributed:
        return OneProcess(world, net)
    from diffdash.distributed.parallel import DataParallel

    return DataParallel(world, net, device)
