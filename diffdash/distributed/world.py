"""Who this process is in a data-parallel run, read from the variables torchrun gives every worker.

torchrun sets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_WORLD_SIZE (the number of nodes, one
agent each), MASTER_ADDR/MASTER_PORT and TORCHELASTIC_RESTART_COUNT (0, then 1, 2 … after each restart of
the group). A process started any other way has none of them and is a world of one. No torch here: the
launcher checks a request before torch loads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

BACKENDS = ("gloo", "nccl")


class DistributedError(ValueError):
    """A data-parallel request this machine cannot serve; the message says what would work."""


@dataclass(frozen=True)
class World:
    rank: int = 0
    local_rank: int = 0
    size: int = 1
    local_size: int = 1
    nodes: int = 1
    restart: int = 0  # how many times torchrun has restarted the group

    @property
    def main(self) -> bool:
        """Rank 0: the one worker that writes the run folder."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world_from_env(env: Mapping[str, str] | None = None) -> World:
    env = os.environ if env is None else env

    def number(name: str, default: int) -> int:
        try:
            return int(env.get(name, default))
        except ValueError:
            raise DistributedError(f"{name}={env.get(name)!r} is not a whole number") from None

    size = number("WORLD_SIZE", 1)
    local_size = number("LOCAL_WORLD_SIZE", size)
    world = World(
        rank=number("RANK", 0),
        local_rank=number("LOCAL_RANK", 0),
        size=size,
        local_size=local_size,
        nodes=number("GROUP_WORLD_SIZE", max(1, size // max(local_size, 1))),
        restart=number("TORCHELASTIC_RESTART_COUNT", 0),
    )
    if not (0 <= world.rank < world.size and 0 <= world.local_rank < world.local_size <= world.size):
        raise DistributedError(f"inconsistent torchrun variables: {world}")
    return world


def resolve_backend(device: str, backend: str | None = None) -> str:
    """gloo for CPU workers, nccl for CUDA ones (one GPU each), unless one is named."""
    if backend is None:
        return "nccl" if device.startswith("cuda") else "gloo"
    if backend not in BACKENDS:
        raise DistributedError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    return backend


def check_request(device: str, nproc: int, cuda_count: int, backend: str | None = None) -> tuple[str, str]:
    """(device, backend) for `nproc` workers on this machine, or DistributedError saying why not.

    `device` is what was asked for (auto, cpu, cuda); auto takes CUDA only when there is a GPU per worker.
    """
    if nproc < 1:
        raise DistributedError(f"--nproc must be at least 1, got {nproc}")
    if device == "auto":
        device = "cuda" if cuda_count >= nproc and cuda_count > 0 else "cpu"
    if device == "mps" and nproc > 1:
        raise DistributedError("Apple's MPS cannot train with several workers: use --device cpu or --nproc 1")
    if device == "cuda" and nproc > cuda_count:
        raise DistributedError(
            f"--nproc {nproc} with --device cuda needs one GPU per worker, and this machine has {cuda_count}: "
            f"use --nproc {cuda_count} or --device cpu"
            if cuda_count
            else "--device cuda was asked for but no CUDA GPU is available here: use --device cpu"
        )
    chosen = resolve_backend(device, backend)
    if chosen == "nccl" and (device != "cuda" or cuda_count == 0):
        raise DistributedError("the nccl backend needs CUDA GPUs (none here, or --device is not cuda): use gloo")
    return device, chosen


def threads_per_worker(total: int | None, local_size: int, cores: int) -> int:
    """Split the machine's (or --threads') CPU threads between the workers on one node, at least one each."""
    return max(1, (total or cores) // max(local_size, 1))
