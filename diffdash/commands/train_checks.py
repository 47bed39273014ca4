"""What `new` and `resume` check before training, so every refusal is one line and exit 2 and nothing is
left half-made: the data files, the memory a configuration needs, the run's lock, config and checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from diffdash.commands.common import bad, read_run_checkpoint, read_run_config, run_error
from diffdash.config import RunConfig
from diffdash.store import RunDir, RunLocked


def load_data(config: RunConfig, say: Callable[[str], None]) -> Any:
    """The run's MNIST, or exit 2 naming the damaged file (a cut-short .gz, random bytes, a wrong shape)."""
    from diffdash.data import DataError, load_mnist

    try:
        return load_mnist(config.dataset, config.data_dir, say=say)
    except DataError as exc:
        raise bad("data_dir", str(exc)) from None


def check_memory(config: RunConfig) -> None:
    """Refuse, before allocating, a network and batch that cannot fit in the memory free now."""
    from diffdash.budget import MemoryBudgetError, check_fits, training_bytes
    from diffdash.devices import resolve_device

    n_images = (config.train_limit or 60_000) + (config.val_limit or 10_000)
    needed = training_bytes(config.n_hidden, config.batch_size, n_images, config.norm, ema=config.ema is not None)
    shown = ",".join(map(str, config.n_hidden))
    try:
        check_fits(
            needed,
            resolve_device(config.device),
            "n_hidden",
            f"training n-hidden {shown} with batch size {config.batch_size}",
            "use fewer channels (--n-hidden) or a smaller --batch-size",
        )
    except MemoryBudgetError as exc:
        raise bad(exc.param, str(exc)) from None


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
    from diffdash.checkpoint import CheckpointError, load_weights_into
    from diffdash.models import build_network

    try:
        load_weights_into(build_network(config), state["model"], run.last_checkpoint)
    except CheckpointError as exc:
        raise run_error(run, str(exc)) from None


def run_error_plain(message: str) -> click.BadParameter:
    return click.BadParameter(message, param_hint="RUN")
