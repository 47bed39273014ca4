"""Options and helpers shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click

from diffdash.config import ConfigError
from diffdash.store import RunDir, RunNotFound, resolve_run, runs_root
from diffdash.ui import IMAGE_MODES

runs_dir_option = click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding the runs [env DIFFDASH_RUNS; default ./runs].",
)

image_mode_option = click.option(
    "--image-mode",
    type=click.Choice(IMAGE_MODES),
    default="auto",
    show_default=True,
    help="How sample grids are drawn (auto asks the terminal; force sixel, kitty, halfcell or unicode).",
)


def bad(param: str, message: str) -> click.BadParameter:
    return click.BadParameter(message, param_hint=f"--{param.replace('_', '-')}")


def config_error(exc: ConfigError) -> click.BadParameter:
    return bad(exc.param, str(exc))


def find_run(runs_dir: Path | None, ref: str) -> RunDir:
    """Resolve a run reference or exit 2 listing the candidates."""
    root = runs_root(runs_dir)
    try:
        return resolve_run(root, ref)
    except RunNotFound as exc:
        lines = [str(exc)]
        if exc.candidates:
            lines.append("candidates: " + ", ".join(exc.candidates))
        lines.append("accepted: a run id, a unique prefix of one, a name, an index from `diffdash runs`, or 'latest'")
        raise click.BadParameter("\n".join(lines), param_hint="RUN") from None
