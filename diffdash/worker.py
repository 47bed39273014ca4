r"""`python -m diffdash.worker RUN [--resume] [--epochs N]`: one data-parallel worker, as torchrun starts it.

On one machine `diffdash new/resume --nproc N` starts torchrun, which starts this N times. On a cluster run
torchrun yourself on every node, e.g.

    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29400 \
        -m diffdash.worker /shared/runs/RUN

with RUN a run folder (config.json at least) on a filesystem every node sees. Every worker
trains its shard of each global batch; rank 0 alone writes the run folder. After an elastic restart
(TORCHELASTIC_RESTART_COUNT > 0) the workers resume from the last checkpoint, exactly.

The exit code is for torchrun: 0 when the run reached a final state (finished, stopped, or failed for a reason
a restart would not cure, such as a non-finite loss; the state is in status.json), 1 when something a restart
may cure happened (a peer died, a collective timed out), so torchrun restarts the group or gives up.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

PARENT_POLL_S = 0.5


def watch_parent() -> None:
    """Leave at once when the agent that started us is gone (killed launcher): no orphan keeps training,
    and the run, whose status names our pid, reads as crashed. On Linux the kernel kills us outright
    (PR_SET_PDEATHSIG, which works even while we are stopped or stuck); the polling thread covers other
    systems."""
    import signal

    from diffdash.distributed.launch import die_with_parent

    die_with_parent(signal.SIGKILL)
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m diffdash.worker", description=__doc__.split("\n\n")[0])
    p.add_argument("run", help="the run folder (on a filesystem every node sees)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--epochs", type=int, default=None, help="train to this many epochs in all")
    return p.parse_args(argv)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    from diffdash.distributed.world import DistributedError, world_from_env

    try:
        world = world_from_env()
    except DistributedError as exc:
        say(f"diffdash.worker: {exc}")
        return 2
    if world.distributed:
        watch_parent()
    from diffdash.training.worker import train_worker

    return train_worker(Path(args.run), world, resume=args.resume, epochs=args.epochs, say=say)


if __name__ == "__main__":
    sys.exit(main())
