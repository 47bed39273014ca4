"""`diffdash rm`, `rename` and `note`: tidying runs (trash, display names, notes) without importing torch."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import click

from diffdash.commands.common import find_run, runs_dir_option
from diffdash.store import RunDir, runs_root, trash_dir


def _state(run: RunDir) -> str | None:
    try:
        return run.read_status().get("state")
    except (OSError, ValueError, AttributeError):
        return None


def _free_path(folder: Path, name: str) -> Path:
    path = folder / name
    n = 2
    while path.exists():
        path = folder / f"{name}-{n}"
        n += 1
    return path


@click.command("rm")
@click.argument("run_refs", metavar="RUN...", nargs=-1, required=True)
@runs_dir_option
@click.option("--purge", is_flag=True, help="Delete for good instead of moving to <runs>/.trash/.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before --purge deletes.")
def rm_command(run_refs: tuple[str, ...], runs_dir: Path | None, purge: bool, yes: bool) -> None:
    """Move runs to the trash folder <runs>/.trash/ (or delete them with --purge).

    \b
    diffdash rm 3 old-baseline
    diffdash rm latest --purge -y
    A running run is refused: stop it first (q in its dashboard, or Ctrl+C).
    """
    runs = []
    for ref in run_refs:  # resolve everything first: one bad reference and nothing is touched
        run = find_run(runs_dir, ref)
        pid = run.locked_by()
        if pid or _state(run) == "running":
            who = f" (pid {pid} is training it)" if pid and pid > 0 else ""
            message = f"run {run.id} is running: stop it before removing it{who}"
            raise click.BadParameter(message, param_hint="RUN")
        if run.path not in [r.path for r in runs]:
            runs.append(run)
    if purge and not yes:
        click.confirm(f"delete {len(runs)} run(s) for good: {', '.join(r.id for r in runs)}?", abort=True)
    root = runs_root(runs_dir)
    for run in runs:
        if purge:
            shutil.rmtree(run.path)
            click.echo(f"deleted {run.id}")
        else:
            trash = trash_dir(root)
            trash.mkdir(exist_ok=True)
            target = _free_path(trash, run.id)
            run.path.rename(target)
            click.echo(f"moved {run.id} to {target}")


@click.command("rename")
@click.argument("run_ref", metavar="RUN")
@click.argument("name")
@runs_dir_option
def rename_command(run_ref: str, name: str, runs_dir: Path | None) -> None:
    """Give a run a display name (its folder stays where it is, so a live run is safe).

    \b
    diffdash rename latest wide-unet
    diffdash compare wide-unet 1
    """
    from diffdash.options.run_config import ConfigError, check_name
    from diffdash.store import set_display_name, sorted_runs

    run = find_run(runs_dir, run_ref)
    try:
        check_name(name)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    for other in sorted_runs(runs_root(runs_dir)):
        if other.path == run.path:
            continue
        if other.id == name or _config_name(other) == name:
            raise click.BadParameter(f"run name {name!r} is already used by run {other.id}", param_hint="NAME")
    try:
        set_display_name(run, name)
    except (OSError, ValueError, TypeError) as exc:
        raise click.BadParameter(f"run {run.id} has no readable config.json ({exc})", param_hint="RUN") from None
    click.echo(f"{run.id} is now named {name}")


def _config_name(run: RunDir) -> str | None:
    try:
        return run.read_config().get("name")
    except (OSError, ValueError, AttributeError):
        return None


@click.command("note")
@click.argument("run_ref", metavar="RUN")
@click.argument("text", required=False)
@runs_dir_option
def note_command(run_ref: str, text: str | None, runs_dir: Path | None) -> None:
    """Append a dated note to a run's notes.md (or print its notes when TEXT is left out).

    \b
    diffdash note latest "lr 2e-4 looks too slow after epoch 10"
    diffdash note latest
    """
    from diffdash.store import append_note, notes_path, read_notes

    run = find_run(runs_dir, run_ref)
    if text is None:
        notes = read_notes(run)
        click.echo(notes.rstrip("\n") if notes else f"{run.id} has no notes")
        return
    if not text.strip():
        raise click.BadParameter('the note is empty: give some text, e.g. "baseline"', param_hint="TEXT")
    append_note(run, text, now=time.time())
    click.echo(f"noted in {notes_path(run)}")


commands = [rm_command, rename_command, note_command]
