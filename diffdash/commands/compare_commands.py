"""`diffdash compare` (the Textual app), `diffdash diff` (config differences as text) and `diffdash export`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from diffdash.commands.common import find_runs, has_terminal, image_mode_option, runs_dir_option
from diffdash.commands.tensorboard_option import check_tensorboard, export_tensorboard, export_tensorboard_option
from diffdash.commands.wandb_option import check_wandb, export_wandb, wandb_option

STEP_COLUMNS = ("run", "epoch", "step", "images", "time", "loss")


@click.command("diff")
@click.argument("run_refs", metavar="RUN RUN [RUN...]", nargs=-1, required=True)
@runs_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print {key: [value per run]} as JSON.")
def diff_command(run_refs: tuple[str, ...], runs_dir: Path | None, as_json: bool) -> None:
    """Print only the config values that differ between runs (parameter counts included).

    \b
    diffdash diff 1 2
    diffdash diff small wide --json
    """
    from diffdash.compare.shared import align, config_diff, format_value, read_config_safe, run_label, val_set_warning

    runs = find_runs(runs_dir, run_refs, least=2)
    configs = [read_config_safe(r) for r in runs]
    labels = [run_label(r, c) for r, c in zip(runs, configs, strict=True)]
    rows = config_diff(configs)
    if as_json:
        click.echo(json.dumps({"runs": labels, "differences": dict(rows)}, indent=2))
        return
    warning = val_set_warning(labels, configs)
    if warning:
        click.echo(click.style("warning: " + warning, fg="yellow"), err=True)
    if not rows:
        click.echo(f"no differences in config between {', '.join(labels)}")
        return
    table = [["", *labels]] + [[key, *(format_value(v) for v in values)] for key, values in rows]
    click.echo("\n".join(align(table)))


@click.command("export")
@click.argument("run_refs", metavar="RUN...", nargs=-1, required=True)
@runs_dir_option
@click.option("--csv", "as_csv", is_flag=True, help="Comma-separated values (the default).")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of row objects.")
@click.option("--steps", is_flag=True, help="One row per training step (the step loss) instead of per epoch.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@export_tensorboard_option
@wandb_option
def export_command(
    run_refs: tuple[str, ...],
    runs_dir: Path | None,
    as_csv: bool,
    as_json: bool,
    steps: bool,
    output: Path | None,
    tensorboard: Path | None,
    wandb_dir: Path | None,
) -> None:
    """Export runs' metrics as one tidy table: a row per epoch (or per step), a column per measure.

    \b
    diffdash export latest > metrics.csv
    diffdash export 1 2 --json -o both.json
    Columns: run, epoch, step, images, time (training seconds), train_loss, val_loss, seconds, images_per_s, fid.
    diffdash export 1 2 --tensorboard tb/   TensorBoard event files instead, one folder per run
    diffdash export 1 2 --wandb wb/         offline W&B runs instead (upload later: wandb sync wb/)
    """
    from diffdash.compare.shared import EPOCH_COLUMNS, epoch_rows, rows_to_csv, run_label

    if as_csv and as_json:
        raise click.UsageError("--csv and --json exclude each other: give one (CSV is the default)")
    fmt = "json" if as_json else "csv"

    check_tensorboard(tensorboard)
    check_wandb(wandb_dir)
    if tensorboard is not None and wandb_dir is not None:
        raise click.UsageError("--tensorboard and --wandb: give one per export")
    runs = find_runs(runs_dir, run_refs)
    if output is not None:
        from diffdash.commands.output_paths import check_output

        check_output(output)
    if wandb_dir is not None:
        if output is not None or steps or as_csv or as_json:
            raise click.UsageError("--wandb writes W&B run folders: leave out -o, --csv, --json and --steps")
        return export_wandb(runs, wandb_dir)
    if tensorboard is not None:
        if output is not None or steps or as_csv or as_json:
            raise click.UsageError("--tensorboard writes event files: leave out -o, --csv, --json and --steps")
        return export_tensorboard(runs, tensorboard)
    rows: list[dict] = []
    for run in runs:
        rows += step_rows(run, run_label(run)) if steps else epoch_rows(run)
    columns = STEP_COLUMNS if steps else EPOCH_COLUMNS
    text = json.dumps(rows, indent=1) + "\n" if fmt == "json" else rows_to_csv(rows, columns)
    if output is None:
        sys.stdout.write(text)
        return
    from diffdash.commands.output_paths import refused
    from diffdash.fsutil import atomic_write

    try:
        output.parent.mkdir(parents=True, exist_ok=True)  # -o new/dir/m.csv makes the folder, as sample -o does
        atomic_write(output, lambda f: f.write(text.encode()))
    except OSError as exc:
        raise refused(output, exc, "--output") from None
    click.echo(f"wrote {len(rows)} rows to {output}", err=True)


def step_rows(run, label: str) -> list[dict]:
    """One row per step; `time` is training seconds (validation and previews left out), as in every view."""
    from diffdash.runs.time_spent import TimeSpent

    spent, rows = TimeSpent(), []
    for e in run.events():
        train_time = spent.apply(e)
        if e.get("event") == "step":
            at = round(train_time, 3) if train_time is not None else None
            rows.append({"run": label, **{k: e.get(k) for k in STEP_COLUMNS[1:4]}, "time": at, "loss": e.get("loss")})
    return rows


@click.command("compare")
@click.argument("run_refs", metavar="RUN RUN [RUN...]", nargs=-1, required=True)
@runs_dir_option
@image_mode_option
@click.option("--plain", is_flag=True, help="Print the summary, warnings and config diff as text (no terminal needed).")
@click.option(
    "--group-by",
    metavar="KEY",
    default=None,
    help="Group the runs by a config key (or 'group': a study's seed groups): the screen draws each group's mean "
    "with a band; with --plain or -o (or no terminal) mean ± std per group as text.",
)
@click.option("--band", type=click.Choice(["std", "minmax"]), default="std", show_default=True,
              help="--group-by: the band drawn around each group's mean.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="--group-by: also draw the groups' validation loss, mean with a band, to this PNG.")  # fmt: skip
def compare_command(
    run_refs: tuple[str, ...],
    runs_dir: Path | None,
    image_mode: str,
    plain: bool,
    group_by: str | None,
    band: str,
    output: Path | None,
) -> None:
    """Compare runs side by side: loss curves overlaid, config diff, summary, sample grids per epoch.

    \b
    diffdash compare 1 2
    diffdash compare small wide latest
    diffdash compare 1 2 --plain > summary.txt
    Keys (the dashboard's): t train/val/both, l log scale, m smoothing on/off, [ ] its strength, a x axis
    (epoch / images seen / training time), r readout cursor (, . move it), + - 0 x range (newest part, all);
    h hide/show runs, / filter by name or tag, 1 curves, 2 samples (← → epoch of all grids), ctrl+p every
    command, q quit. Each run keeps one colour (by its place in the command line); live runs refresh.
    """
    runs = find_runs(runs_dir, run_refs, least=2)
    if output is not None:
        from diffdash.commands.output_paths import check_output

        check_output(output)  # a device, FIFO or folder: exit 2 before any work, never a traceback after it
    if output is not None or (group_by is not None and (plain or not has_terminal())):
        compare_grouped(runs, group_by, band, output)
        return
    if plain:
        from diffdash.compare.plain import compare_text

        sys.stdout.write(compare_text(runs))
        return
    if not has_terminal():
        raise click.UsageError("compare needs a terminal (stdin and stdout); use --plain for a text summary")
    from diffdash.ui.compare_app import run_compare

    if group_by is not None:
        group_runs_or_exit(runs, group_by)  # a key no run has: exit 2 before the screen opens
    run_compare(runs, image_mode=image_mode, group_by=group_by, band=band)


def group_runs_or_exit(runs, key: str):
    from diffdash.compare.groups import group_runs

    try:
        return group_runs(runs, key)
    except KeyError:
        message = f"no run's config has {key!r}: give a config key such as n_hidden"
        raise click.BadParameter(message, param_hint="--group-by") from None


def compare_grouped(runs, key: str | None, band: str, output: Path | None) -> None:
    from diffdash.compare.groups import groups_text, write_bands

    if key is None:
        raise click.BadParameter("a figure of groups needs --group-by KEY", param_hint="--output")
    groups = group_runs_or_exit(runs, key)
    sys.stdout.write(groups_text(groups, band))
    if output is not None:
        from diffdash.compare.report import MatplotlibMissing, require_matplotlib

        try:
            require_matplotlib()
        except MatplotlibMissing as exc:
            raise click.ClickException(str(exc)) from None
        from diffdash.commands.output_paths import refused

        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            click.echo(f"wrote {write_bands(groups, output, band)}")
        except OSError as exc:  # the folder changed meanwhile (removed, read-only, full)
            raise refused(output, exc, "--output") from None


commands = [compare_command, diff_command, export_command]
