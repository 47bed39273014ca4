"""The `--tensorboard DIR` option of `export`, `new` and `resume`, and what it does in each.

Kept apart from the commands so the bridge's import and its errors live in one place; the bridge
itself (diffdash/bridges/tensorboard.py) is imported only when the option is given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from diffdash.options.launch_options import LAUNCH_BY_NAME


class FolderPath(click.Path):
    """A folder argument that refuses '' (which Path reads as the current folder, filling it unasked)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("is empty: give a folder such as tb/", param, ctx)
        return super().convert(value, param, ctx)


tensorboard_option = click.option(
    "--tensorboard",
    "tensorboard",
    type=FolderPath(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help=LAUNCH_BY_NAME["tensorboard"].help,
)
export_tensorboard_option = click.option(  # `export`: the event files are written instead of the table
    "--tensorboard",
    "tensorboard",
    type=FolderPath(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Write TensorBoard event files to DIR/<run id> instead of the table (view: tensorboard --logdir DIR).",
)


def check_tensorboard(tensorboard: Path | None) -> None:
    """Exit 2 before any work when --tensorboard is given but cannot be written."""
    if tensorboard is None:
        return
    from diffdash.bridges.tensorboard import TensorBoardMissing, require_tensorboard

    try:
        require_tensorboard()
    except TensorBoardMissing as exc:
        raise click.BadParameter(str(exc), param_hint="--tensorboard") from None
    if tensorboard.exists() and not tensorboard.is_dir():
        raise click.BadParameter(f"{tensorboard} is a file, not a folder", param_hint="--tensorboard")
    from diffdash.commands.output_paths import check_output

    check_output(tensorboard, "--tensorboard", folder=True)  # /proc/tbx: refused now, not "logging stopped" later


def training_listeners(tensorboard: Path | None, run: Any, say: Callable[[str], None]) -> list:
    """Extra engine listeners for `new`/`resume`: the live TensorBoard log when asked for."""
    if tensorboard is None:
        return []
    from diffdash.bridges.tensorboard import live_log

    return [live_log(run, tensorboard, say=say)]


def export_tensorboard(runs: list, tensorboard: Path) -> None:
    """`diffdash export RUN... --tensorboard DIR`: one subfolder per run, each replaced whole or not at all."""
    from diffdash.bridges.tensorboard import ExportRefused, export_run

    for run in runs:
        try:
            target = export_run(run, tensorboard, say=lambda message: click.echo(message, err=True))
        except ExportRefused as exc:
            raise click.BadParameter(str(exc), param_hint="--tensorboard") from None
        click.echo(f"wrote {target}", err=True)
    click.echo(f"view with: tensorboard --logdir {tensorboard}", err=True)
