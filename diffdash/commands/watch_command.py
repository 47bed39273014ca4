"""`diffdash watch RUN`: the dashboard on any run folder, following it live; never writes there."""

from __future__ import annotations

from pathlib import Path

import click

from diffdash.commands.common import find_run, image_mode_option, runs_dir_option


@click.command("watch")
@click.argument("run_ref", metavar="RUN", default="latest")
@runs_dir_option
@image_mode_option
@click.option("--poll", type=float, default=0.5, show_default=True, help="Seconds between reads of the run folder.")
def watch_command(run_ref: str, runs_dir: Path | None, image_mode: str, poll: float) -> None:
    """Open the dashboard on a run (default: latest): finished, or being trained elsewhere (read-only).

    \b
    diffdash watch latest
    diffdash watch 20261128-143012-ddpm-3f2a
    """
    if not 0.05 <= poll <= 60:
        raise click.BadParameter(f"poll must be between 0.05 and 60 seconds, got {poll}", param_hint="--poll")
    run = find_run(runs_dir, run_ref)
    from diffdash.ui.dashboard import DashboardApp
    from diffdash.ui.widgets.sample_image import image_class

    image_cls = image_class(image_mode)  # queries the terminal: before the app starts
    DashboardApp(run, image_mode=image_mode, image_cls=image_cls, poll_s=poll).run()


commands = [watch_command]
