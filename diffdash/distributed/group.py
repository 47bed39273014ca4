"""The process group: joined with a timeout, so a worker that hangs (not dies) fails the group, not waits forever.

A worker that dies closes its sockets and its peers' next collective fails at once; torchrun then tears the
group down and restarts it or fails. The timeout is the last resort, for a peer that is alive but stuck. It
must outlast what rank 0 does alone between two steps (a preview grid, an evaluation, a checkpoint), so it is
generous; DIFFDASH_DIST_TIMEOUT (seconds) changes it.
"""

from __future__ import annotations

import datetime
import os

from diffdash.distributed.world import World

DEFAULT_TIMEOUT_S = 900.0


def timeout_s() -> float:
    try:
        return max(1.0, float(os.environ.get("DIFFDASH_DIST_TIMEOUT", DEFAULT_TIMEOUT_S)))
    except ValueError:
        return DEFAULT_TIMEOUT_S


def join(world: World, backend: str, device: str, timeout: float | None = None) -> None:
    """init_process_group from torchrun's variables (env://); nothing for a world of one."""
    if not world.distributed:
        return
    import torch
    import torch.distributed as dist

    if backend == "nccl":
        torch.cuda.set_device(world.local_rank)
    seconds = datetime.timedelta(seconds=timeout if timeout is not None else timeout_s())
    store = restart_store(world, seconds)
    if store is None:
        dist.init_process_group(backend=backend, timeout=seconds)
    else:
        dist.init_process_group(backend=backend, store=store, rank=world.rank, world_size=world.size, timeout=seconds)


def restart_store(world: World, timeout: datetime.timedelta):
    """torchrun's own key-value store, under a prefix that names the restart; None outside torchrun.

    The agent keeps one store across restarts of the group, and the dead group's keys stay in it: measured
    with torch 2.14, restarted gloo workers read the old group's addresses from them and fail to connect
    ("Gloo connectFullMesh failed ... Connection refused"). A fresh prefix per restart gives each group its own.
    """
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return None
    import torch.distributed as dist

    client = dist.TCPStore(
        os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world.size, is_master=False, timeout=timeout
    )
    return dist.PrefixStore(f"diffdash/restart{world.restart}", client)


def leave() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_peer_failure(exc: BaseException) -> bool:
    """An error that says another worker is gone or stuck: torchrun, not the run, decides what follows."""
    import torch.distributed as dist

    if isinstance(exc, getattr(dist, "DistError", ())):
        return True
    text = str(exc).lower()  # gloo's and nccl's errors name their source (third_party/gloo/..., NCCL error)
    return any(s in text for s in ("connection closed by peer", "connection reset by peer", "gloo", "nccl"))
