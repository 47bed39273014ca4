"""What all workers must agree on: the global batch's loss, the validation sum, and stop/pause requests.

Each is one all-reduce of a small tensor. The values stay on the device (on CUDA an all-reduce is queued on
the stream, not waited for), so agreeing adds no host sync of its own; reading them is the caller's choice.
In a world of one every function returns its input untouched, so 1-process training is unchanged.
"""

from __future__ import annotations

import torch

from diffdash.distributed.world import World


def _all_reduce(t: torch.Tensor, op: str = "sum") -> torch.Tensor:
    import torch.distributed as dist

    dist.all_reduce(t, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
    return t


def global_loss(local_mean: torch.Tensor, rows: int, n: int, world: World) -> torch.Tensor:
    """The global batch's mean loss from each worker's mean over its `rows` of the `n`: sum(mean_r * rows_r) / n.

    Summed in float64, so that the only difference from the 1-process mean is the order of the additions.
    """
    if not world.distributed:
        return local_mean.detach()
    t = local_mean.detach().double() * rows
    return (_all_reduce(t) / n).to(local_mean.dtype)


def sum_over_workers(t: torch.Tensor, world: World) -> torch.Tensor:
    """A per-worker partial sum (e.g. validation loss times rows) made the sum over every worker's shard."""
    return _all_reduce(t.clone()) if world.distributed else t


def agree(flags: list[bool], world: World, device: str | torch.device = "cpu") -> list[bool]:
    """Requests every worker acts on at the same step: set on any worker (in practice rank 0, which reads
    the control file) means set on all. One small all-reduce and one read; a world of one reads nothing."""
    if not world.distributed:
        return list(flags)
    t = torch.tensor([int(f) for f in flags], dtype=torch.int32, device=device)
    return [bool(v) for v in _all_reduce(t, "max").tolist()]
