"""What `new` and `resume` check before training, so every refusal is one line and exit 2 and nothing is
left half-made: the data files, the memory a configuration needs, the run's lock, config and checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from diffdash.commands.common import bad, read_run_checkpoint, read_run_config, run_error
from diffdash.options.run_config import RunConfig
from diffdash.store import RunDir, RunLocked


def load_data(config: RunConfig, say: Callable[[str], None]) -> Any:
    """The run's MNIST, or exit 2 naming the damaged file (a cut-short .gz, random bytes, a wrong shape)."""
    from diffdash.mnist.load import DataError, load_mnist

    try:
        return load_mnist(config.dataset, config.data_dir, say=say)
    except DataError as exc:
        raise bad("data_dir", str(exc)) from None


def check_memory(config: RunConfig) -> None:
    """Refuse, before allocating, a network and batch that cannot fit in the memory free now."""
    from diffdash.machine.devices import resolve_device
    from diffdash.machine.memory_budget import MemoryBudgetError, check_fits, describe_network, training_bytes

    n_images = (config.train_limit or 60_000) + (config.val_limit or 10_000)
    needed = training_bytes(config, config.batch_size, n_images)
    widths = "n_hidden" if config.net == "cnn" else f"{config.net}_channels"
    try:
        check_fits(
            needed,
            resolve_device(config.device),
            widths,
            f"training {describe_network(config)} with batch size {config.batch_size}",
            f"use fewer channels (--{widths.replace('_', '-')}) or a smaller --batch-size",
        )
    except MemoryBudgetError as exc:
        raise bad(exc.param, str(exc)) from None


def check_worker_resources(
    config: RunConfig, nproc: int, device: str = "cpu", cores: int | None = None, free: int | None = None
) -> None:
    """`--nproc N` that this machine cannot hold (cores, or host memory: every worker is a process with torch
    and its own copy of the data): exit 2 before torchrun starts anything."""
    from diffdash.machine.devices import available_cores
    from diffdash.machine.memory_budget import free_bytes, training_bytes, workers_problem

    if nproc <= 1:
        return
    n_images = (config.train_limit or 60_000) + (config.val_limit or 10_000)
    local_batch = -(-config.batch_size // nproc)
    # on CUDA, weights and activations live on each worker's GPU (`check_memory` checks one)
    per_worker = n_images * 28 * 28 * 4 if device == "cuda" else training_bytes(config, local_batch, n_images)
    problem = workers_problem(
        nproc, per_worker, available_cores() if cores is None else cores, free_bytes("cpu") if free is None else free
    )
    if problem:
        raise bad("nproc", problem)


def create_run(root: Path, run_id: str, config: RunConfig, state: str = "running") -> RunDir:
    """The new run folder (made atomically, its lock held by this process unless only `created`), or exit 2."""
    from diffdash.fsutil import DiskFull

    try:
        return RunDir.create(root, run_id, config=config.to_dict(), lock=state == "running", state=state)
    except FileExistsError:
        pid = RunDir(root / run_id).locked_by()
        if pid:
            raise bad("name", f"{run_id} is being trained by pid {pid}") from None
        raise bad("name", f"a run named {run_id!r} already exists in {root}: choose another --name") from None
    except DiskFull as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.BadParameter(
            f"cannot create a run in {root} ({exc.strerror or exc})", param_hint="--runs-dir"
        ) from None


def prepare_resume(run: RunDir) -> RunConfig:
    """Take the run's lock and check it can be resumed: its config valid, its checkpoint (if any) usable.

    A run killed before its first checkpoint has none: it restarts from its recorded config (the same
    seeds, so the same result as an uninterrupted run).
    """
    try:
        run.hold_lock()
    except RunLocked as exc:
        raise run_error_plain(str(exc)) from None
    except OSError as exc:
        raise run_error(run, f"cannot take its lock ({exc.strerror or exc})") from None
    try:
        status = run.read_status()
    except (OSError, ValueError, AttributeError):
        status = {}
    if isinstance(status, dict) and status.get("state") == "running":  # a writer without the lock (older diffdash)
        raise run_error_plain(f"{run.id} is being trained by pid {status.get('pid')} on {status.get('host')}")
    config = read_run_config(run)
    if run.last_checkpoint.is_file():
        from diffdash.checkpoint import CheckpointError, check_resumable

        state = read_run_checkpoint(run)
        try:
            check_resumable(state, run.last_checkpoint)
        except CheckpointError as exc:
            raise run_error(run, str(exc)) from None
        check_weights_fit(run, config, state)
    return config


def check_weights_fit(run: RunDir, config: RunConfig, state: dict[str, Any]) -> None:
    from diffdash.checkpoint import CheckpointError
    from diffdash.runs.trained_network import trained_network

    try:
        trained_network(config, state["model"], run.last_checkpoint)
    except CheckpointError as exc:
        raise run_error(run, str(exc)) from None


def run_error_plain(message: str) -> click.BadParameter:
    return click.BadParameter(message, param_hint="RUN")
