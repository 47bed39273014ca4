"""Data-parallel steps run in spawned processes (torch.multiprocessing pickles this module's functions by name)."""

from __future__ import annotations

import os
import socket

BATCH, N_T, STEPS = 4, 100, 4  # 13 digits in batches of 4: 4, 4, 4, 1 (the last leaves rank 1 an empty shard)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ddp_steps(rank: int, size: int, port: int, out: str, batch: int = BATCH) -> None:
    """A few real DDPM training steps of the real CNN on real digits, as one of `size` workers.

    The draws follow the data-parallel rule: every worker draws the whole global batch's permutation, t and
    noise from one generator and trains on its rows; rank 0 saves the global losses and the final weights.
    """
    import torch
    import torch.nn.functional as F

    from diffdash.diffusion.ddpm import DDPM
    from diffdash.distributed.group import join, leave
    from diffdash.distributed.reduce import global_loss
    from diffdash.distributed.shards import train_rows
    from diffdash.distributed.world import World
    from diffdash.mnist.load import load_bundled, to_tensor
    from diffdash.models.cnn import CNN

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(size))
    torch.set_num_threads(1)
    world = World(rank=rank, local_rank=rank, size=size, local_size=size)
    join(world, "gloo", "cpu", timeout=60)
    try:
        torch.manual_seed(0)
        net = CNN([4, 8, 4])
        model = torch.nn.parallel.DistributedDataParallel(net) if world.distributed else net
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        process = DDPM(n_T=N_T)
        x_all = to_tensor(load_bundled().train_images[:13])
        gen = torch.Generator().manual_seed(1)
        perm = torch.randperm(len(x_all), generator=gen)
        losses = []
        for b in range(STEPS):
            x = x_all[perm[b * batch : (b + 1) * batch]]
            n = len(x)
            t = torch.randint(1, N_T, (n,), generator=gen)
            eps = torch.randn(x.shape, generator=gen)
            rows, count, weight = train_rows(n, rank, size)
            z = process.noised(x[rows], t[rows], eps[rows])
            loss = F.mse_loss(model(z, t[rows] / N_T), eps[rows])
            opt.zero_grad(set_to_none=True)
            (loss * weight).backward()
            opt.step()
            losses.append(float(global_loss(loss, count, n, world)))
        if world.main:
            torch.save({"losses": losses, "weights": net.state_dict()}, out)
    finally:
        leave()


# ---------------------------------------------------------------- end-to-end: the real CLI, torchrun, gloo
TINY = [
    "--dataset", "mnist-small", "--n-hidden", "4,8,4", "--train-limit", "1024", "--val-limit", "256",
    "--batch-size", "64", "--n-T", "100", "--sample-steps", "3", "--device", "cpu", "--precision", "fp32",
    "--sample-every", "1", "--headless", "--progress-every", "600",
]  # fmt: skip


def diffdash(*args: str, runs) -> list[str]:
    import sys

    return [sys.executable, "-m", "diffdash", *args, "--runs-dir", str(runs)]


def wait_until(condition, timeout: float = 240.0, every: float = 0.05) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def step_losses(run) -> list[float]:
    return [e["loss"] for e in run.events() if e["event"] == "step"]


def epoch_figures(run) -> list[tuple[int, float, float]]:
    return [(e["epoch"], e["train_loss"], e["val_loss"]) for e in run.events() if e["event"] == "epoch"]


def in_epoch(run, epoch: int) -> bool:
    """Training is inside `epoch` (a step of it written) and an earlier checkpoint exists."""
    try:
        return run.last_checkpoint.is_file() and any(e["event"] == "step" and e["epoch"] == epoch for e in run.events())
    except (OSError, ValueError):
        return False


def gone(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as f:  # a zombie (exited, not yet reaped) counts as gone
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux /proc): torchrun's workers."""
    from pathlib import Path

    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
