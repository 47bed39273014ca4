"""One data-parallel worker's life: read the run's config, join the group, train its shards, leave. Called by
diffdash.worker (what torchrun starts). Here, above distributed/ (the group, the world, the wrapper that
averages gradients), so that the training package is the only one that imports both.

Every worker builds the same training state from the run's seed (or loads the same checkpoint), so all
hold identical weights, optimiser, generator and place in the epoch; DistributedDataParallel keeps the
weights identical step by step. Rank 0 trains with the run's `Recorder`, every other rank with a
`NullRecorder`: one writer of the run folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from diffdash.distributed.world import DistributedError, World, check_request


def train_worker(run_path: Path, world: World, *, resume: bool, epochs: int | None, say: Callable[[str], None]) -> int:
    """0 once the run reached a final state (in status.json), 2 for a run folder it cannot train; a peer's
    failure propagates (torchrun restarts the group or gives up)."""
    import torch

    from diffdash.distributed.group import join, leave
    from diffdash.distributed.worker_controls import WorkerControls
    from diffdash.options.run_config import ConfigError, RunConfig
    from diffdash.store import RunDir
    from diffdash.training import Engine
    from diffdash.training.recorder import NullRecorder, quiet

    run = RunDir(run_path)
    try:
        config = RunConfig.from_dict(run.read_config()).validate()
        if epochs is not None:
            config.epochs = epochs
            config.validate()
        device, backend = check_request(config.device, world.local_size, torch.cuda.device_count())
    except (OSError, ValueError) as exc:  # ConfigError, DistributedError, a missing or damaged config.json
        kind = "" if isinstance(exc, (ConfigError, DistributedError)) else f"{type(exc).__name__}: "
        say(f"diffdash.worker: cannot train {run_path}: {kind}{exc}")
        return 2
    if config.device == "auto" and device == "cpu":
        config.device = "cpu"  # auto takes CUDA only with a GPU per worker
    if world.main:
        taken = claim(run)
        if taken:
            say(f"diffdash.worker: {taken}")
            return 2
    join(world, backend, device)
    try:
        controls = WorkerControls(world, run.path, device, every=1 if device == "cpu" else 8)
        recorder = None if world.main else NullRecorder(run, say=quiet)
        engine = Engine(
            run, config, say=say if world.main else quiet, controls=controls, recorder=recorder, world=world,
            backend=backend,
        )  # fmt: skip
        # after a restart, or started again on a run that has trained (a cluster job requeued): continue it
        trained = run.metrics_path.is_file() and run.metrics_path.stat().st_size > 0
        engine.run(resume=resume or world.restart > 0 or trained)
    finally:
        leave()
    return 0


def claim(run) -> str | None:
    """Rank 0 makes sure nobody else trains the run: its launcher (`diffdash new/resume --nproc`, named in
    the environment) holds the run's lock for it; started any other way (torchrun by hand, a requeued cluster
    job) rank 0 takes the lock itself. Returns why it may not train, else None."""
    import os

    from diffdash.distributed.launch import LAUNCHER_ENV
    from diffdash.store import RunLocked

    holder = run.locked_by()
    if holder is not None and str(holder) == os.environ.get(LAUNCHER_ENV):
        return None
    if holder is not None:
        return f"{run.id} is being trained by {'pid ' + str(holder) if holder > 0 else 'another process'}"
    try:
        run.hold_lock()
    except RunLocked as exc:
        return str(exc)
    except OSError:
        return None  # a folder where no lock can be made (read-only): the writes will say what is wrong
    return None
