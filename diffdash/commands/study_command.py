"""`diffdash study run|status|report FILE`: a study (several runs in one TOML file) as one command."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import click

from diffdash.commands.common import image_mode_option, parse_epochs, runs_dir_option
from diffdash.commands.study_executor import add_executor_options, cluster_runner, join_status
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


MANY_RUNS = 1000  # a study larger than this is more likely a [grid] typo than a plan: --yes says it is not


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
@click.option("--yes", is_flag=True, help=f"Train a study of more than {MANY_RUNS} runs (refused without it).")
@image_mode_option
@add_executor_options
def run_command(
    file: Path,
    runs_dir: Path | None,
    parallel: int,
    only: tuple[str, ...],
    restart_changed: bool,
    headless: bool,
    image_mode: str,
    executor: str,
    slurm_pairs: tuple[str, ...],
    ray_address: str | None,
    yes: bool = False,
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
    if study.search is not None and only:
        message = "a search has no fixed runs to choose from: its trials come as it goes"
        raise click.BadParameter(message, param_hint="--only")
    members = select(study, only)
    if len(members) > MANY_RUNS and not yes:
        raise click.BadParameter(
            f"the study has {len(members)} runs (more than {MANY_RUNS}: a [grid] with too many values?); "
            "pass --yes to train them all",
            param_hint="--yes",
        )
    root = runs_root(runs_dir)
    check_orphans(study, root, restart_changed)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    board = not headless and tty
    lines: list[str] = []
    say = lines.append if board else echo_line
    if study.search is not None:  # a [search] table: Optuna proposes the runs (diffdash/study/search.py)
        from diffdash.commands.search_commands import require_optuna

        require_optuna()
        from diffdash.study.search import SearchRunner

        runner = SearchRunner(study, root, parallel=parallel, say=say)
    elif executor != "local" or slurm_pairs or ray_address:  # a Slurm job or a Ray task per member
        runner = cluster_runner(executor, study, root, members, slurm_pairs=slurm_pairs, ray_address=ray_address,
                                restart_changed=restart_changed, say=say)  # fmt: skip
    else:
        runner = StudyRunner(study, root, members, parallel=parallel, restart_changed=restart_changed, say=say)
    try:
        runner.plan()
    except StudyRefused as exc:
        raise click.UsageError(str(exc)) from None
    if board:
        try:
            from diffdash.ui.study_app import run_board

            if study.search is not None:
                from diffdash.ui.search_board import run_board
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
    from diffdash.study.status import StudyProgress, study_eta

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

    if runner.study.search is not None:
        from diffdash.study.search_status import epoch_lines

        tick = epoch_lines(runner, echo_line)
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
    from diffdash.study.status import StudyProgress, study_eta, table

    study = load(file)
    root = runs_root(runs_dir)
    if study.search is not None:
        from diffdash.commands.search_commands import search_status

        return search_status(study, file, root, as_json)
    rows = StudyProgress(study, root).poll()
    join_status(rows, study, root)
    from diffdash.study.orphans import find_orphans

    orphans = find_orphans(root, study)  # the study's folders no member of the file names any more
    live = sum(r.state == "running" for r in rows)
    eta = study_eta(rows, max(1, live))
    if as_json:
        out = {"study": study.name, "file": str(file), "runs_dir": str(root), "eta_s": eta}
        out["runs"] = [r.to_dict() for r in rows]
        out["not_in_file"] = [{"run": o.run.id, "state": o.state, "epoch": o.epoch, "now": o.closest.name if
                               o.closest else None, "changes": o.changes} for o in orphans]  # fmt: skip
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(table(rows))
    done = sum(r.action == "skip" for r in rows)  # all its epochs, or its --max-time spent
    summary = f"{study.name}: {done}/{len(rows)} finished"
    if live:
        summary += f", {live} running, ETA {format_seconds(eta, '?')} at {live} at a time"
    changed = [r for r in rows if r.changed]
    click.echo(summary)
    for r in changed:
        click.echo(f"changed {r.member}: " + "; ".join(r.changed))
    for o in orphans:
        click.echo(f"not in the file: {o.describe()}")


def check_orphans(study, root: Path, restart_changed: bool) -> None:
    """Say which of the study's runs no member of the file names now; refuse (exit 2) to train anew the members
    an edit of the file renamed (a key added to [grid]) unless --restart-changed says to."""
    from diffdash.study.orphans import find_orphans, renamed_members

    orphans = find_orphans(root, study)
    renamed = renamed_members(root, orphans)
    if renamed and not restart_changed:
        lines = [f"  {o.describe()}" for o in renamed]
        raise click.UsageError(
            "the study file no longer names these runs (an option was added to or removed from it):\n"
            + "\n".join(lines)
            + "\nput the file back to train on with them, or pass --restart-changed to train the file's runs as new"
            " ones (the runs above stay as they are)"
        )
    for o in orphans:
        echo_line(f"not in the file: {o.describe()}")


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
    from diffdash.compare.report import MatplotlibMissing, require_matplotlib

    study = load(file)
    chosen = parse_epochs(epochs)
    root = runs_root(runs_dir)
    if output.exists() and not output.is_dir():
        raise click.BadParameter(f"{output} exists and is not a folder", param_hint="--output")
    from diffdash.commands.output_paths import check_output

    check_output(output, folder=True)
    if output.is_dir() and any(output.iterdir()) and not force:
        raise click.BadParameter(
            f"{output} already holds files: choose a new folder or pass --force to replace it", param_hint="--output"
        )
    if study.search is not None:
        from diffdash.commands.search_commands import search_report

        return search_report(study, file, root, output)
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


@study_group.command("cancel")
@file_argument
@runs_dir_option
@click.option("--only", multiple=True, help="Only this run (its name or its number in the file; repeatable).")
def cancel_command(file: Path, runs_dir: Path | None, only: tuple[str, ...]) -> None:
    """Cancel the study's Slurm jobs (scancel) or stop its Ray tasks; each run checkpoints and stops.

    \b
    diffdash study cancel studies/coursework.toml --only cold-k3-s0.1
    `diffdash study run FILE --executor ...` again continues them from their checkpoints.
    """
    from diffdash.study.executors import cancel

    study = load(file)
    for line in cancel(study, runs_root(runs_dir), select(study, only)):
        click.echo(line)


commands = [study_group]
