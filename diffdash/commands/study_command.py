"""`diffdash study run|status|report FILE`: a study (several runs in one TOML file) as one command."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import click

from diffdash.commands.common import image_mode_option, parse_epochs, runs_dir_option
from diffdash.store import runs_root

file_argument = click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))


def load(file: Path):
    """The study, or exit 2 naming the bad key."""
    from diffdash.study import StudyError, load_study

    try:
        return load_study(file)
    except StudyError as exc:
        raise click.BadParameter(f"{file}: {exc}", param_hint="FILE") from None


def select(study, only: tuple[str, ...]):
    from diffdash.study import StudyError

    try:
        return study.select(only)
    except StudyError as exc:
        raise click.BadParameter(str(exc), param_hint="--only") from None


@click.group("study")
def study_group() -> None:
    """Several runs described in one TOML file: run them, follow them, report on them.

    \b
    diffdash study run studies/coursework.toml --parallel 2
    diffdash study status studies/coursework.toml
    diffdash study report studies/coursework.toml -o report/
    Running the same command again continues: finished runs are skipped, stopped or crashed ones resumed.
    """


@study_group.command("run")
@file_argument
@runs_dir_option
@click.option("-j", "--parallel", type=int, default=1, show_default=True, help="Runs trained at the same time.")
@click.option("--only", multiple=True, help="Only this run (its name or its number in the file; repeatable).")
@click.option(
    "--restart-changed", is_flag=True, help="Start again (old folder to the trash) runs whose options changed."
)
@click.option("--headless", is_flag=True, help="Plain progress lines instead of the study board.")
@image_mode_option
def run_command(
    file: Path,
    runs_dir: Path | None,
    parallel: int,
    only: tuple[str, ...],
    restart_changed: bool,
    headless: bool,
    image_mode: str,
) -> None:
    """Create and train the study's runs, PARALLEL at a time, each in its own headless process.

    \b
    diffdash study run studies/coursework.toml --parallel 2
    diffdash study run studies/coursework.toml --only ddpm-16-32-32-16     # one run (e.g. a Slurm array task)
    With a terminal it shows the study board (Enter: the run's dashboard, c: compare the selected runs);
    without one (nohup, CI, a scheduler) plain progress lines. Ctrl-C stops every run after a checkpoint.
    """
    from diffdash.study.runner import StudyRefused, StudyRunner

    if parallel < 1:
        raise click.BadParameter(f"parallel must be at least 1, got {parallel}", param_hint="--parallel")
    study = load(file)
    members = select(study, only)
    root = runs_root(runs_dir)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    board = not headless and tty
    lines: list[str] = []
    say = lines.append if board else echo_line
    runner = StudyRunner(study, root, members, parallel=parallel, restart_changed=restart_changed, say=say)
    try:
        runner.plan()
    except StudyRefused as exc:
        raise click.UsageError(str(exc)) from None
    if board:
        try:
            from diffdash.ui.study_app import run_board
        except ImportError:
            board = False
        else:
            sys.exit(run_board(runner, lines, image_mode))
    sys.exit(run_plain(runner))


def echo_line(message: str) -> None:
    click.echo(f"{time.strftime('%H:%M:%S')} {message}")


def run_plain(runner) -> int:
    """The runner in this thread, with a line for each epoch any run finishes; signals stop it cleanly."""
    from diffdash.formats import format_at, format_loss, format_seconds
    from diffdash.study.progress import StudyProgress, study_eta

    progress = StudyProgress(runner.study, runner.root, runner.members)
    seen = {r.member: r.epoch for r in progress.poll()}

    def tick() -> None:
        rows = progress.poll()
        for r in rows:
            if r.epoch > seen.get(r.member, 0):
                seen[r.member] = r.epoch
                fid = f"  FID (MNIST classifier) {r.fid:.2f} @{r.fid_epoch}" if r.fid is not None else ""
                eta = format_seconds(study_eta(rows, runner.parallel), "?")
                best = format_at(r.best_val, r.best_epoch)
                echo_line(
                    f"{r.member}: epoch {r.epoch}/{r.epochs}  val {format_loss(r.last_val)}  best {best}{fid}"
                    f"  study ETA {eta}"
                )

    def on_signal(_signum, _frame):
        if runner.stopping:
            return
        echo_line("stopping the study: each run checkpoints and stops (run the same command to continue)")
        runner.stop()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        runner.on_tick = tick
        return runner.run()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


@study_group.command("status")
@file_argument
@runs_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON (for scripts).")
def status_command(file: Path, runs_dir: Path | None, as_json: bool) -> None:
    """Where each run of the study stands: state, epochs, validation loss, FID, training time.

    \b
    diffdash study status studies/coursework.toml
    diffdash study status studies/coursework.toml --json | jq '.runs[].best_val'
    """
    from diffdash.formats import format_seconds
    from diffdash.study.progress import StudyProgress, study_eta, table

    study = load(file)
    root = runs_root(runs_dir)
    rows = StudyProgress(study, root).poll()
    live = sum(r.state == "running" for r in rows)
    eta = study_eta(rows, max(1, live))
    if as_json:
        out = {"study": study.name, "file": str(file), "runs_dir": str(root), "eta_s": eta}
        out["runs"] = [r.to_dict() for r in rows]
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(table(rows))
    done = sum(r.state == "finished" and r.epoch >= r.epochs for r in rows)
    summary = f"{study.name}: {done}/{len(rows)} finished"
    if live:
        summary += f", {live} running, ETA {format_seconds(eta, '?')} at {live} at a time"
    changed = [r for r in rows if r.changed]
    click.echo(summary)
    for r in changed:
        click.echo(f"changed {r.member}: " + "; ".join(r.changed))


@study_group.command("report")
@file_argument
@runs_dir_option
@click.option(
    "-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write."
)
@click.option("--epochs", default=None, help="Epochs of the side-by-side grids [default: 1,25,50,75,100 or nearest].")
@click.option("--force", is_flag=True, help="Replace the output folder if it already holds files.")
def report_command(file: Path, runs_dir: Path | None, output: Path, epochs: str | None, force: bool) -> None:
    """The coursework's figures for the study's runs, a findings table and index.md (Figures 1-14 mapped).

    \b
    diffdash study report studies/coursework.toml -o report/
    Needs matplotlib: pip install 'diffdash[report]'.
    """
    from diffdash.report import MatplotlibMissing, require_matplotlib

    study = load(file)
    chosen = parse_epochs(epochs)
    root = runs_root(runs_dir)
    if output.exists() and not output.is_dir():
        raise click.BadParameter(f"{output} exists and is not a folder", param_hint="--output")
    if output.is_dir() and any(output.iterdir()) and not force:
        raise click.BadParameter(
            f"{output} already holds files: choose a new folder or pass --force to replace it", param_hint="--output"
        )
    present = [m for m in study.members if (root / m.run_id).is_dir()]
    if not present:
        raise click.UsageError(f"no run of study {study.name!r} in {root}: run `diffdash study run {file}` first")
    try:
        require_matplotlib()
    except MatplotlibMissing as exc:
        raise click.ClickException(str(exc)) from None
    from diffdash.study.report import build_study_report

    click.echo(f"writing the report of study {study.name} ({len(present)}/{len(study.members)} runs) to {output}")
    files = build_study_report(study, root, output, chosen, say=click.echo)
    click.echo(f"wrote {len(files)} files; open {output / 'index.md'}")


commands = [study_group]
