"""The `--wandb DIR` option of `export`: offline W&B runs that `wandb sync DIR` uploads later.

Kept apart from the command, as `--tensorboard` is (tensorboard_option.py): the bridge
(diffdash/bridges/wandb_export.py) and the wandb package are imported only when the option is given.
"""

from __future__ import annotations

from pathlib import Path

import click

from diffdash.commands.tensorboard_option import FolderPath

wandb_option = click.option(
    "--wandb",
    "wandb_dir",
    type=FolderPath(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Write each run as an offline W&B run into DIR instead (upload later: wandb sync DIR).",
)


def check_wandb(wandb_dir: Path | None) -> None:
    """Exit 2 before any work when --wandb is given but wandb is missing or DIR is a file."""
    if wandb_dir is None:
        return
    from diffdash.bridges.wandb_export import WandbMissing, require_wandb

    try:
        require_wandb()
    except WandbMissing as exc:
        raise click.BadParameter(str(exc), param_hint="--wandb") from None
    if wandb_dir.exists() and not wandb_dir.is_dir():
        raise click.BadParameter(f"{wandb_dir} is a file, not a folder", param_hint="--wandb")


def export_wandb(runs: list, wandb_dir: Path) -> None:
    """`diffdash export RUN... --wandb DIR`: one offline W&B run folder per run, each replaced whole or not at all."""
    from diffdash.bridges.wandb_export import WandbExportRefused, export_run

    for run in runs:
        try:
            target = export_run(run, wandb_dir)
        except WandbExportRefused as exc:
            raise click.BadParameter(str(exc), param_hint="--wandb") from None
        click.echo(f"wrote {target}", err=True)
    click.echo(f"upload with: wandb sync {wandb_dir}", err=True)
