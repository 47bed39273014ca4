"""`diffdash new` and `diffdash resume`: validate everything, then create the run and train."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from diffdash.commands.common import bad, checked_runs_root, config_error, find_run, image_mode_option, runs_dir_option
from diffdash.commands.help_sections import SectionedCommand
from diffdash.commands.tensorboard_option import check_tensorboard, tensorboard_option, training_listeners
from diffdash.commands.train_checks import check_memory, create_run, load_data, prepare_resume
from diffdash.config import DEVICES, MODELS, PRECISIONS, ConfigError, RunConfig, parse_betas, parse_int_list
from diffdash.store import RunDir, new_run_id


def training_options(f):
    opts = [
        click.option("--model", default="ddpm", show_default=True, help=f"Model: {', '.join(MODELS)}."),
        click.option("--n-hidden", default="16,32,32,16", show_default=True, help="Channels of each CNN block."),
        click.option(
            "--norm",
            default="chw",
            show_default=True,
            help="LayerNorm over (C,28,28) 'chw' (starter default) or (28,28) 'hw'.",
        ),
        click.option("--epochs", type=int, default=20, show_default=True, help="Passes over the training digits."),
        click.option("--batch-size", type=int, default=128, show_default=True, help="Digits per training step."),
        click.option("--lr", type=float, default=2e-4, show_default=True, help="Adam learning rate."),
        click.option("--betas", default="1e-4,0.02", show_default=True, help="beta1,beta2 of the linear schedule."),
        click.option("--n-T", "n_T", type=int, default=None, help="Diffusion steps [default: ddpm 1000, cold 20]."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed for init, shuffling, noise."),
        click.option(
            "--sample-seed",
            type=int,
            default=0,
            show_default=True,
            help="Seed of the fixed preview noise (same grids across epochs and runs).",
        ),
        click.option("--name", default=None, help="Name the run folder (default: <time>-<model>-<hex>)."),
        click.option(
            "--dataset",
            default="mnist",
            show_default=True,
            help="mnist (full; falls back to the bundled subset offline) or mnist-small (bundled).",
        ),
        click.option("--data-dir", default=None, help="Folder with the MNIST idx files [env DIFFDASH_DATA]."),
        click.option("--train-limit", type=int, default=None, help="Use only the first N training digits."),
        click.option("--val-limit", type=int, default=None, help="Use only the first N test digits."),
        click.option("--device", default="auto", show_default=True, help=f"One of {', '.join(DEVICES)}."),
        click.option(
            "--precision",
            default="auto",
            show_default=True,
            help=f"One of {', '.join(PRECISIONS)}; auto is bf16 autocast where the hardware has it natively "
            "(AVX512-BF16 or AMX CPUs, CUDA with bf16), else fp32.",
        ),
        click.option(
            "--threads",
            type=click.IntRange(min=1, max=1024),
            default=None,
            help="CPU threads for training [default: all cores].",
        ),
        click.option(
            "--sample-every",
            default="auto",
            show_default=True,
            help="Preview grids: every N epochs (2), steps (500steps) or training time (90s, 2m); auto = every "
            "epoch plus, inside long epochs, after 45 s, then at doubling intervals. Combine with commas (1,5m).",
        ),
        click.option(
            "--sampler",
            default=None,
            help="Preview sampler: ddim or ancestral (ddpm, default ddim); direct, alg1 or alg2 (cold, default alg2).",
        ),
        click.option("--sample-steps", type=int, default=50, show_default=True, help="DDIM steps of previews."),
        click.option("--checkpoint-every", type=int, default=1, show_default=True, help="Checkpoint every N epochs."),
        *quality_options(),
        *cold_options(),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def quality_options() -> list:
    """EMA and evaluation during training (issue 6)."""
    return [
        click.option("--ema", type=float, default=None, help="Keep an EMA of the weights with this decay, e.g. 0.999."),
        click.option(
            "--preview-weights",
            default="auto",
            show_default=True,
            help="Weights for previews and --eval-every: auto (EMA if kept), ema or raw.",
        ),
        click.option(
            "--eval-every",
            type=int,
            default=None,
            help="Every K epochs, score fresh samples: FID (MNIST classifier), digit histogram, confidence.",
        ),
        click.option(
            "--eval-n",
            type=int,
            default=None,
            help="Samples per --eval-every evaluation [default: as many as cost ~10% of the training between].",
        ),
        click.option(
            "--keep-snapshots",
            is_flag=True,
            help="Keep each epoch's weights (checkpoints/epoch_NNNN.pt) for `diffdash eval --epoch N`.",
        ),
    ]


def cold_options() -> list:
    """Cold diffusion (issue 5): which degradation, its options, the restorer's loss, the generation prior."""
    return [
        click.option(
            "--degradation",
            default="blur",
            show_default=True,
            help="Cold: blur, mask, pixelate or fade (any module in diffdash/degradations).",
        ),
        click.option("--kernel-size", type=int, default=11, show_default=True, help="Blur: odd kernel size, 1..27."),
        click.option("--kernel-std", type=float, default=7.0, show_default=True, help="Blur: kernel σ per step."),
        click.option(
            "--blur-schedule",
            default="even",
            show_default=True,
            help="Blur: even (σ per step chosen so the digits' variance falls by equal amounts down to the "
            "final blur of n_T constant steps), constant (σ each step), growing (σ·t, the coursework's) or linear "
            "(total σ grows as σ·t).",
        ),
        click.option("--padding", default="circular", show_default=True, help="Blur: circular, reflect or zero."),
        click.option("--mask-std", type=float, default=12.0, show_default=True, help="Mask: final hole σ, pixels."),
        click.option("--mask-place", default="centre", show_default=True, help="Mask: hole at centre or random."),
        click.option("--pixelate-min", type=int, default=4, show_default=True, help="Pixelate: final size 1,2,4,7,14."),
        click.option("--fade-to", default="black", show_default=True, help="Fade: toward black or the mean."),
        click.option("--loss", default="l1", show_default=True, help="Cold: restorer loss l1 or l2."),
        click.option(
            "--prior-t",
            type=int,
            default=None,
            help="Cold: generation starts at t* [default: the most degraded t keeping 5% of the digits' variance].",
        ),
        click.option("--prior-components", type=int, default=10, show_default=True, help="Cold prior: mixture size."),
        click.option("--gen-noise", type=float, default=0.0, show_default=True, help="Cold: noise σ per step."),
    ]


def build_config(**kw) -> RunConfig:
    if kw.get("n_T") is None:
        kw["n_T"] = 20 if kw.get("model") == "cold" else 1000
    if kw.get("sampler") is None:
        kw["sampler"] = "alg2" if kw.get("model") == "cold" else "ddim"
    try:
        kw["n_hidden"] = parse_int_list(kw["n_hidden"])
        kw["betas"] = parse_betas(kw["betas"])
        return RunConfig(**kw).validate()
    except ConfigError as exc:
        raise config_error(exc) from None


def check_device(config: RunConfig) -> None:
    if config.device in ("auto", "cpu") and config.precision in ("auto", "fp32"):
        return  # nothing can fail (auto falls back to fp32): skip importing torch, so the dashboard starts at once
    from diffdash.devices import DeviceError, check_precision, resolve_device

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
    from diffdash.run_progress import DATASET_LABELS

    click.echo(f"loading torch and {DATASET_LABELS.get(config.dataset, config.dataset)} …")


def early_data(config: RunConfig, headless: bool):
    """MNIST, loaded before the run folder exists: a damaged file is a one-line refusal (exit 2), not a failed run."""
    return load_data(config, say)


progress_every_option = click.option(
    "--progress-every",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="--headless: a progress line at least this often.",
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
@click.option("--study", default=None, help="Tag the run as a member of study NAME (`diffdash runs --study NAME`).")
@click.option("--headless", is_flag=True, help="Plain progress lines instead of the dashboard.")
@progress_every_option
@image_mode_option
@tensorboard_option
def new_command(
    runs_dir: Path | None, headless: bool, progress_every: float, image_mode: str, tensorboard: Path | None, **kw
) -> None:
    """Create a run under runs/ and train it.

    \b
    diffdash new --model ddpm --n-hidden 16,32,64,32,16 --epochs 10
    diffdash new --epochs 1 --dataset mnist-small --headless
    """
    config = build_config(**kw)
    starting_line(config)
    check_device(config)
    check_tensorboard(tensorboard)
    warn_saturated_levels(config)
    root = checked_runs_root(runs_dir)
    check_memory(config)
    data = early_data(config, headless)
    run = create_run(root, new_run_id(config.model, config.name), config)
    click.echo(f"run {run.id} in {root}")
    listeners = training_listeners(tensorboard, run, say)
    shown = dict(headless=headless, image_mode=image_mode, progress_every=progress_every)
    sys.exit(train(run, config, data=data, resume=False, listeners=listeners, **shown))


@click.command("resume")
@click.argument("run_ref", metavar="RUN")
@runs_dir_option
@click.option("--epochs", type=int, default=None, help="Train to this many epochs in all (default: as before).")
@click.option("--headless", is_flag=True, help="Plain progress lines instead of the dashboard.")
@progress_every_option
@image_mode_option
@tensorboard_option
def resume_command(
    run_ref: str,
    runs_dir: Path | None,
    epochs: int | None,
    headless: bool,
    progress_every: float,
    image_mode: str,
    tensorboard: Path | None,
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
        if epochs < 1:
            raise bad("epochs", f"epochs must be at least 1, got {epochs}")
        config.epochs = epochs
    click.echo(f"resuming {run.id}")
    starting_line(config)
    check_device(config)
    data = early_data(config, headless)
    listeners = training_listeners(tensorboard, run, say)
    shown = dict(headless=headless, image_mode=image_mode, progress_every=progress_every)
    sys.exit(train(run, config, data=data, resume=True, listeners=listeners, **shown))


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
) -> int:
    """Train in this process; returns the exit code (0 finished or stopped, 1 failed).

    `listeners` get every engine event besides the dashboard or progress printer (e.g. a TensorBoard log).
    """
    if config.eval_every is not None:
        from diffdash.commands.eval_command import ensure_classifier

        ensure_classifier(data, config.data_dir)
    if not wants_dashboard(headless):
        headless = True  # no terminal to draw in (nohup, a pipe, CI): plain progress lines instead
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
    from diffdash.engine import Controls, Engine
    from diffdash.progress import HeadlessPrinter

    controls = Controls()
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
    if state == "stopped":
        click.echo(f"stopped; continue with: diffdash resume {run.id}")
    return 1 if state == "failed" else 0


commands = [new_command, resume_command]
