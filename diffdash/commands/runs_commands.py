"""`diffdash runs` (alias `ls`), `rm`, `rename` and `note`: finding and tidying runs without importing torch."""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime
from pathlib import Path

import click

from diffdash.commands.common import find_run, runs_dir_option
from diffdash.store import STATES, RunDir, runs_root, trash_dir

SORT_KEYS = ("index", "started", "name", "best-val", "last-val", "epochs", "duration", "status", "params")
STATUS_CHOICES = (*STATES, "damaged")
COLOURS = {"running": "cyan", "finished": "green", "failed": "red", "stopped": "yellow", "crashed": "magenta"}
COLOURS["damaged"] = "red"


def _sort_key(key: str):
    def nones_last(v):
        return (v is None, v if v is not None else 0)

    return {
        "index": lambda r: nones_last(r.index),
        "started": lambda r: nones_last(r.started),
        "name": lambda r: r.label.lower(),
        "best-val": lambda r: nones_last(r.best_val),
        "last-val": lambda r: nones_last(r.last_val),
        "epochs": lambda r: nones_last(r.epoch),
        "duration": lambda r: nones_last(r.duration),
        "status": lambda r: r.status,
        "params": lambda r: nones_last(r.parameters),
    }[key]


def format_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(round(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _started(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


def _loss(v: float | None) -> str:
    return f"{v:.5f}" if v is not None else "-"


@click.command("runs")
@runs_dir_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUS_CHOICES),
    help="Only runs in this state (repeatable).",
)
@click.option("--model", "models", multiple=True, help="Only runs of this model (repeatable), e.g. ddpm.")
@click.option("--tag", "tags", multiple=True, help="Only runs with this tag (repeatable: all of them).")
@click.option("--study", default=None, help="Only the runs of this study (`diffdash study`).")
@click.option("--sort", "sort", type=click.Choice(SORT_KEYS), default="index", show_default=True)
@click.option("--reverse", is_flag=True, help="Reverse the order.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON (for scripts).")
def runs_command(
    runs_dir: Path | None,
    statuses: tuple[str, ...],
    models: tuple[str, ...],
    tags: tuple[str, ...],
    study: str | None,
    sort: str,
    reverse: bool,
    as_json: bool,
) -> None:
    """List runs: index, id, name, model, progress, validation losses, status, tags.

    \b
    diffdash runs
    diffdash runs --status running --sort best-val
    diffdash runs --tag baseline
    diffdash runs --json | jq '.[].best_val'
    The index (#) is accepted wherever a command takes a RUN, as are ids, unique prefixes, names and 'latest'.
    """
    from diffdash.summary import summarize_all

    root = runs_root(runs_dir)
    rows = summarize_all(root)
    if statuses:
        rows = [r for r in rows if r.status in statuses]
    if models:
        rows = [r for r in rows if r.model in models]
    if tags:
        rows = [r for r in rows if set(tags) <= set(r.tags)]
    if study:
        from diffdash.study.members import run_study_name

        rows = [r for r in rows if run_study_name(Path(r.path)) == study]
    rows.sort(key=_sort_key(sort), reverse=reverse)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    if not rows:
        if statuses or models or tags or study:
            click.echo(f"no matching runs in {root.resolve()} (diffdash runs lists them all)")
        else:
            click.echo(f"no runs in {root.resolve()}")
            click.echo("start one with `diffdash new --epochs 1`, or point --runs-dir (or DIFFDASH_RUNS) at your runs")
        return
    _print_table(rows)


HEADERS = (
    "#",
    "id",
    "name",
    "model",
    "n_hidden",
    "epochs",
    "best val @ep",
    "last val",
    "status",
    "started",
    "duration",
    "tags",
)
RIGHT = {"#", "epochs", "best val @ep", "last val", "duration"}


def _cells(r) -> list[str]:
    done = "-" if r.epoch is None and r.epochs is None else f"{r.epoch or 0}/{r.epochs or '?'}"
    return [
        str(r.index or ""),
        r.id,
        (r.name if r.name and r.name != r.id else "") + (" *" if r.has_notes else ""),
        r.model or "-",
        ",".join(map(str, r.n_hidden)) if r.n_hidden else "-",
        done,
        f"{_loss(r.best_val)} @{r.best_epoch}" if r.best_val is not None else "-",
        _loss(r.last_val),
        r.status,
        _started(r.started),
        format_seconds(r.duration),
        " ".join(r.tags),
    ]


def _print_table(rows) -> None:
    """A plain aligned table (rich would cost ~0.2 s of CPU for 200 rows; listing must stay instant).

    Colours go through click, which drops them when the output is not a terminal.
    """
    table = [list(HEADERS)] + [_cells(r) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
    status_col = HEADERS.index("status")
    for n, row in enumerate(table):
        parts = []
        for i, (cell, width) in enumerate(zip(row, widths, strict=True)):
            text = cell.rjust(width) if HEADERS[i] in RIGHT else cell.ljust(width)
            if i == len(row) - 1:
                text = text.rstrip()
            if n == 0:
                text = click.style(text, bold=True)
            elif i == status_col:
                text = click.style(text, fg=COLOURS.get(cell, "white"), bold=cell == "damaged")
            parts.append(text)
        click.echo("  ".join(parts).rstrip())
    for r in rows:
        if r.damaged:
            click.echo(click.style("damaged", fg="red", bold=True) + f" {r.id}: {r.damaged}")
    if any(r.has_notes for r in rows):
        click.echo("* has notes: diffdash note RUN")


ls_command = click.Command(
    "ls",
    params=runs_command.params,
    callback=runs_command.callback,
    help="List runs (the same as `diffdash runs`).",
)


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
    from diffdash.config import ConfigError, check_name
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


commands = [runs_command, ls_command, rm_command, rename_command, note_command]
