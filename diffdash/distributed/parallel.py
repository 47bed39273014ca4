"""What the training loop asks of data-parallel training: a step's loss and a validation sum, over all workers.

Only for several workers: one process takes the plain step of `training/one_process.py`. The network is
wrapped in DistributedDataParallel (its backward all-reduces the gradients, averaged over the workers) and
each worker computes the process's loss on its rows of the global batch, with the global batch's draws
(`Process.loss(..., rows=)` draws t and noise for every row from the run's generator, then keeps the
worker's). See `shards` for why the loss is weighted.
"""

from __future__ import annotations

from typing import Any

import torch

from diffdash.distributed.reduce import global_loss
from diffdash.distributed.shards import train_rows
from diffdash.distributed.world import World


class DataParallel:
    def __init__(self, world: World, net: torch.nn.Module, device: str):
        from torch.nn.parallel import DistributedDataParallel

        self.world = world
        self.net = net
        ids = [torch.cuda.current_device()] if device.startswith("cuda") else None
        self.model = DistributedDataParallel(net, device_ids=ids)

    def loss(
        self, process: Any, x: torch.Tensor, gen: torch.Generator, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(what to backward, the global batch's mean loss to record) for one step on global batch `x` (with its
        labels `y` for a class-conditional run)."""
        labels = {"y": y} if y is not None else {}
        rows, count, weight = train_rows(len(x), self.world.rank, self.world.size)
        loss = process.loss(self.model, x, gen, rows=rows, **labels)
        return loss * weight, global_loss(loss, count, len(x), self.world)


def validation_part(
    world: World,
    process: Any,
    net: torch.nn.Module,
    x: torch.Tensor,
    gen: torch.Generator,
    y: torch.Tensor | None = None,
):
    """This worker's share of sum(loss * digits) over validation batch `x` (float64, on the device); added up
    over the workers by `sum_over_workers`, the shares make the whole test split's sum."""
    labels = {"y": y} if y is not None else {}
    if not world.distributed:
        return process.loss(net, x, gen, **labels).double() * len(x)
    rows, count, _ = train_rows(len(x), world.rank, world.size)
    return process.loss(net, x, gen, rows=rows, **labels).double() * count
