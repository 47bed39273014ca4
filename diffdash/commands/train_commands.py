"""`diffdash new` and `diffdash resume`: validate everything, then create the run and train."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from diffdash.commands.common import bad, checked_runs_root, find_run, image_mode_option, runs_dir_option
from diffdash.commands.help_sections import SectionedCommand
from diffdash.commands.new_options import (
    build_config,
    max_time_resume_option,
    resume_max_time,
    study_option,
    training_options,
)
from diffdash.commands.tensorboard_option import check_tensorboard, tensorboard_option, training_listeners
from diffdash.commands.train_checks import check_memory, create_run, load_data, prepare_resume
from diffdash.commands.train_workers import check_workers, workers_options
from diffdash.options.launch_options import LAUNCH_BY_NAME, MIN_PROGRESS_EVERY
from diffdash.options.run_config import RunConfig
from diffdash.store import RunDir, new_run_id


def check_device(config: RunConfig) -> None:
    if config.device in ("auto", "cpu") and config.precision in ("auto", "fp32"):
        return  # nothing can fail (auto falls back to fp32): skip importing torch, so the dashboard starts at once
    from diffdash.machine.devices import DeviceError, check_precision, resolve_device

    try:
        check_precision(resolve_device(config.device), config.precision)
    except DeviceError as exc:
        raise bad("device" if "device" in str(exc) else "precision", str(exc)) from None


def say(message: str) -> None:
    click.secho(message, fg="yellow", err=True)


def wants_dashboard(headless: bool) -> bool:
    return not headless and sys.stdin.isatty() and sys.stdout.isatty()


def starting_line(config: RunConfig) -> None:
    """Said first, before torch and the data load (seconds on a busy machine), so the terminal is never blank."""
    from diffdash.runs.progress import DATASET_LABELS

    click.echo(f"loading torch and {DATASET_LABELS.get(config.dataset, config.dataset)} …")


def early_data(config: RunConfig, headless: bool):
    """MNIST, loaded before the run folder exists: a damaged file is a one-line refusal (exit 2), not a failed run."""
    return load_data(config, say)


class FiniteFloatRange(click.FloatRange):
    """FloatRange that also refuses nan and inf (nan compares false with both bounds, so it passes a range)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number != number or number in (float("inf"), float("-inf")):
            self.fail(f"must be a finite number of seconds, got {value}", param, ctx)
        return number


progress_every_option = click.option(
    "--progress-every",
    type=FiniteFloatRange(min=MIN_PROGRESS_EVERY),
    default=LAUNCH_BY_NAME["progress_every"].default,
    show_default=True,
    metavar="SECONDS",
    help=LAUNCH_BY_NAME["progress_every"].help,
)


def warn_saturated_levels(config: RunConfig) -> None:
    """Cold runs: say so before training when most levels of the degradation carry no digit left."""
    if config.model == "cold":
        from diffdash.degradations.levels import saturation_notice

        notice = saturation_notice(config)
        if notice:
            say(f"warning: {notice}")


@click.command("new", cls=SectionedCommand)
@training_options
@runs_dir_option
@study_option
@click.option("--trial", type=click.IntRange(min=0), default=None, hidden=True, help="A study search's trial number.")
@click.option("--headless", is_flag=True, help="Plain progress lines instead of the dashboard.")
@click.option(
    "--prepare",
    is_flag=True,
    help="Only create the run folder (state 'created') and print the torchrun line for a cluster; train nothing.",
)
@progress_every_option
@image_mode_option
@tensorboard_option
@workers_options
def new_command(
    runs_dir: Path | None,
    headless: bool,
    prepare: bool,
    progress_every: float,
    image_mode: str,
    tensorboard: Path | None,
    nproc: int,
    max_restarts: int,
    **kw,
) -> None:
    """Create a run under runs/ and train it.

    \b
    diffdash new --model ddpm --n-hidden 16,32,64,32,16 --epochs 10
    diffdash new --epochs 1 --dataset mnist-small --headless
    """
    config = build_config(**kw)
    if prepare:
        sys.exit(prepare_run(config, runs_dir, nproc, tensorboard))
    starting_line(config)
    check_device(config)
    check_workers(config, nproc, max_restarts)
    check_tensorboard(tensorboard)
    warn_saturated_levels(config)
    root = checked_runs_root(runs_dir)
    check_memory(config)
    data = early_data(config, headless)
    run = create_run(root, new_run_id(config.model, config.name), config)
    click.echo(f"run {run.id} in {root}")
    listeners = training_listeners(tensorboard, run, say)
    shown = dict(headless=headless, image_mode=image_mode, progress_every=progress_every)
    workers = dict(nproc=nproc, max_restarts=max_restarts)
    sys.exit(train(run, config, data=data, resume=False, listeners=listeners, **shown, **workers))


def prepare_run(config: RunConfig, runs_dir: Path | None, nproc: int, tensorboard: Path | None) -> int:
    """`new --prepare`: the run folder with its config and nothing trained, for workers started elsewhere.

    The device, memory and data are not checked here: a login node is not the machine that trains."""
    if tensorboard is not None:
        raise bad("tensorboard", "--prepare trains nothing; give --tensorboard to `diffdash resume` instead")
    root = checked_runs_root(runs_dir)
    run = create_run(root, new_run_id(config.model, config.name), config, state="created")
    click.echo(f"run {run.id} created in {root} (nothing trained yet)")
    click.echo("start it on every node of the cluster (HOST:PORT a free port on one of them, for the rendezvous):")
    from diffdash.distributed.launch import cluster_command  # the one place the cluster's torchrun line is built

    click.echo("  " + cluster_command(str(run.path.resolve()), "NODES", nproc, "HOST:29400"))
    more = (f" --nproc {nproc}" if nproc > 1 else "") + (f" --runs-dir {root}" if runs_dir is not None else "")
    click.echo(f"or on this machine: diffdash resume {run.id}{more}")
    return 0


@click.command("resume")
@click.argument("run_ref", metavar="RUN")
@runs_dir_option
@click.option("--epochs", type=int, default=None, help="Train to this many epochs in all (default: as before).")
@click.option(
    "--compile/--no-compile",
    "compile_",
    default=None,
    help="torch.compile the network for training steps, or not (default: as before; one process only).",
)
@max_time_resume_option
@click.option("--headless", is_flag=True, help="Plain progress lines instead of the dashboard.")
@progress_every_option
@image_mode_option
@tensorboard_option
@workers_options
def resume_command(
    run_ref: str,
    runs_dir: Path | None,
    epochs: int | None,
    compile_: bool | None,
    max_time: str | None,
    headless: bool,
    progress_every: float,
    image_mode: str,
    tensorboard: Path | None,
    nproc: int,
    max_restarts: int,
) -> None:
    """Continue a run from its last checkpoint (after a stop or a crash).

    \b
    diffdash resume latest
    diffdash resume 20261128-143012-ddpm-3f2a --epochs 40
    """
    check_tensorboard(tensorboard)
    run = find_run(runs_dir, run_ref)
    config = prepare_resume(run)
    if epochs is not None:
        from diffdash.options.run_options import MAX_EPOCHS

        if epochs < 1:
            raise bad("epochs", f"epochs must be at least 1, got {epochs}")
        if epochs > MAX_EPOCHS:  # as `new`: recorded, a typo would leave a config.json no command reads
            raise bad("epochs", f"epochs must be at most {MAX_EPOCHS}, got {epochs}")
        if epochs < (done := trained_epochs(run)):  # the total, not more: fewer would mark it "finished 18/5"
            raise bad(
                "epochs", f"--epochs is the total to train to, and {run.id} has trained {done}: give {done} or more"
            )
        config.epochs = epochs
    if compile_ is not None and compile_ != config.compile:
        if nproc > 1:  # the workers read the run's config.json, which says how it was trained so far
            raise bad("compile", "--compile/--no-compile cannot change a run resumed with --nproc > 1")
        if compile_:
            from diffdash.commands.new_options import check_compile

            check_compile(config.device)
        config.compile = compile_
    resume_max_time(run, config, max_time, nproc)
    state = recorded_state(run)
    if state == "finished" and trained_epochs(run) >= config.epochs:
        from diffdash.store import remove_stale_temp_files

        remove_stale_temp_files(run)  # what a killed write left (we hold the lock); nothing else is touched
        done = trained_epochs(run)
        click.echo(f"{run.id} is already finished ({done}/{done} epochs): nothing to do; more with --epochs N")
        sys.exit(0)
    fresh = state == "created"  # prepared by `new --prepare`: nothing to resume, it starts at epoch 0
    click.echo(f"starting {run.id} (prepared, nothing trained yet)" if fresh else f"resuming {run.id}")
    starting_line(config)
    check_device(config)
    check_workers(config, nproc, max_restarts)
    data = early_data(config, headless)
    listeners = training_listeners(tensorboard, run, say)
    shown = dict(headless=headless, image_mode=image_mode, progress_every=progress_every)
    workers = dict(nproc=nproc, max_restarts=max_restarts, epochs=epochs)
    sys.exit(train(run, config, data=data, resume=not fresh, listeners=listeners, **shown, **workers))


def recorded_state(run: RunDir) -> str | None:
    try:
        return run.read_status().get("state")
    except (OSError, ValueError):
        return None


def recorded_reason(run: RunDir) -> str | None:
    try:
        return run.read_status().get("reason")
    except (OSError, ValueError):
        return None


def trained_epochs(run: RunDir) -> int:
    """Epochs the run's status says are done (0 when unknown, so such a run is resumed, never skipped)."""
    try:
        epoch = run.read_status().get("epoch")
    except (OSError, ValueError):
        return 0
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else 0


def train(
    run: RunDir,
    config: RunConfig,
    *,
    data,
    resume: bool,
    headless: bool,
    image_mode: str,
    listeners: list | None = None,
    progress_every: float = 30.0,
    nproc: int = 1,
    max_restarts: int = 0,
    epochs: int | None = None,
) -> int:
    """Train in this process, or on `nproc` torchrun workers; returns the exit code (0 finished or stopped,
    1 failed; `epochs`: a resume's new total, which workers read from their command line).

    `listeners` get every engine event besides the dashboard or progress printer (e.g. a TensorBoard log).
    """
    if config.eval_every is not None:
        from diffdash.commands.common import ensure_classifier

        ensure_classifier(data, config.data_dir)
    if not wants_dashboard(headless):
        headless = True  # no terminal to draw in (nohup, a pipe, CI): plain progress lines instead
    if nproc > 1:
        from diffdash.commands.train_workers import train_with_workers

        shown = dict(headless=headless, image_mode=image_mode, progress_every=progress_every, listeners=listeners)
        return train_with_workers(
            run, config, nproc=nproc, max_restarts=max_restarts, resume=resume, epochs=epochs, **shown
        )
    if not headless:
        try:
            from diffdash.ui.train_app import run_training_app
        except ImportError:
            headless = True
        else:
            state = run_training_app(run, config, data=data, resume=resume, image_mode=image_mode, listeners=listeners)
            return 1 if state == "failed" else 0
    return train_headless(run, config, data=data, resume=resume, listeners=listeners, progress_every=progress_every)


def train_headless(
    run: RunDir, config: RunConfig, *, data, resume: bool, listeners: list | None = None, progress_every: float = 30.0
) -> int:
    from diffdash.distributed.control_file import FileControls
    from diffdash.runs.headless import HeadlessPrinter
    from diffdash.training import Engine

    controls = FileControls(run.path)  # a study search stops a pruned trial through the run's control file
    printer = HeadlessPrinter(every_s=progress_every, config=config.to_dict(), run_dir=run)
    printer.start_ticker()

    def on_signal(signum, _frame):
        if controls.stop.is_set():
            raise KeyboardInterrupt
        printer.console.print("[yellow]stopping after this step (again to abort)…[/]")
        controls.stop.set()

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        engine = Engine(run, config, listeners=[printer, *(listeners or [])], say=say, data=data, controls=controls)
        state = engine.run(resume=resume)
    finally:
        printer.close()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    if state == "stopped" and recorded_reason(run) == "max-time":
        more = f"diffdash resume {run.id} --max-time LONGER"
        click.echo(f"stopped: its --max-time of {config.max_time} training is spent; more with: {more}")
    elif state == "stopped":
        click.echo(f"stopped; continue with: diffdash resume {run.id}")
    return 1 if state == "failed" else 0


commands = [new_command, resume_command]
