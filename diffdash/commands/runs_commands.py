"""`diffdash runs` (alias `ls`): the table of runs, read from the run folders without importing torch."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from diffdash.commands.common import runs_dir_option
from diffdash.formats import STATE_COLOURS, format_at, format_loss, format_seconds
from diffdash.store import STATES, RunDir, runs_root

SORT_KEYS = ("index", "started", "name", "best-val", "last-val", "epochs", "duration", "status", "params")
STATUS_CHOICES = (*STATES, "damaged")
COLOURS = {**STATE_COLOURS, "damaged": "red"}


def _sort_key(key: str):
    def nones_last(v):
        return (v is None, v if v is not None else 0)

    return {
        "index": lambda r: nones_last(r.index),
        "started": lambda r: nones_last(r.started),
        "name": lambda r: r.label.lower(),
        # losses of different kinds (DDPM's MSE(ε), cold's L1(x0)) are ranked each among their own kind
        "best-val": lambda r: (r.loss_kind or "", *nones_last(r.best_val)),
        "last-val": lambda r: (r.loss_kind or "", *nones_last(r.last_val)),
        "epochs": lambda r: nones_last(r.epoch),
        "duration": lambda r: nones_last(r.duration),
        "status": lambda r: r.status,
        "params": lambda r: nones_last(r.parameters),
    }[key]


def _started(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


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
    from diffdash.runs.summary import summarize_all

    root = runs_root(runs_dir)
    rows = summarize_all(root)
    if rows:
        from diffdash.store.index_memory import remember_indices

        remember_indices(root, {r.index: r.id for r in rows if r.index})  # `compare 1 5` then warns if they move
    if statuses:
        rows = [r for r in rows if r.status in statuses]
    if models:
        rows = [r for r in rows if r.model in models]
    if tags:
        rows = [r for r in rows if set(tags) <= set(r.tags)]
    if study:
        rows = [r for r in rows if RunDir(Path(r.path)).study_name() == study]
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
    kinds = sorted({r.loss_kind for r in rows if r.loss_kind})
    if sort in ("best-val", "last-val") and len(kinds) > 1:
        click.echo(f"ranked within each loss kind ({', '.join(kinds)}): losses of different kinds do not compare")


HEADERS = (
    "#",
    "id",
    "name",
    "model",
    "network",
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
        (r.name or "") + (" *" if r.has_notes else ""),  # `new --name X` makes X the id too: shown in both
        r.model or "-",
        r.network or "-",
        done,
        format_at(r.best_val, r.best_epoch),
        format_loss(r.last_val),
        r.status + (f" ({r.phase})" if r.phase else ""),  # "running (training the MNIST classifier 40%)"
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
                state = cell.split(" ")[0]
                text = click.style(text, fg=COLOURS.get(state, "white"), bold=state == "damaged")
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


commands = [runs_command, ls_command]
