"""`diffdash eval`: sample quality as numbers, appended to the run's metrics as an eval event.

FID here is measured in the feature space of diffdash's own MNIST classifier ("FID (MNIST classifier)"),
not Inception's; figures compare between runs and epochs evaluated with the same classifier and n.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from diffdash.commands.common import (
    bad,
    check_seed_option,
    ensure_classifier,
    find_run,
    read_run_checkpoint,
    read_run_config,
    run_error,
    run_sampler,
    runs_dir_option,
)
from diffdash.options.cond_options import GUIDANCE_HELP

BAR_WIDTH = 30
EVAL_MAX = 50_000  # FID settles long before; sampling more only costs hours


def pick_checkpoint(run: Any, epoch: int | None, checkpoint: Path | None) -> Path:
    """--checkpoint F, or the weights of epoch N (a --keep-snapshots file or last.pt), or last.pt."""
    if checkpoint is not None:
        if not checkpoint.is_file():
            raise bad("checkpoint", f"no checkpoint file at {checkpoint}")
        return checkpoint
    if epoch is None:
        if not run.last_checkpoint.is_file():
            raise click.BadParameter(f"run {run.id} has no checkpoint yet", param_hint="RUN")
        return run.last_checkpoint
    snapshot = run.checkpoints_dir / f"epoch_{epoch:04d}.pt"
    if snapshot.is_file():
        return snapshot
    available = sorted(int(p.stem.split("_")[1]) for p in run.checkpoints_dir.glob("epoch_*.pt"))
    if run.last_checkpoint.is_file():
        last_epoch = read_run_checkpoint(run).get("epoch")
        if last_epoch == epoch:
            return run.last_checkpoint
        available = sorted({*available, last_epoch})
    have = ", ".join(map(str, available)) or "none"
    raise bad(
        "epoch",
        f"run {run.id} has no weights for epoch {epoch}: epochs available: {have} "
        "(train with --keep-snapshots to keep every epoch's weights)",
    )


def eval_guidances(run: Any, config: Any, text: str | None) -> list[float] | None:
    """--guidance's scales (exit 2 for a bad one, or any on an unconditional run); None: the run's own."""
    from diffdash.options.cond_options import not_conditional, parse_guidance_list

    if text is None:
        return None
    if config.cond == "none":
        raise bad("guidance", not_conditional(run.id, "--guidance"))
    try:
        return parse_guidance_list(text)
    except ValueError as exc:
        raise bad("guidance", str(exc)) from None


def print_figures(event: dict[str, Any], reference: float | None, table: dict | None) -> None:
    from diffdash.metrics.fid import FID_LABEL
    from diffdash.metrics.histogram import histogram_entropy
    from diffdash.metrics.recon import format_table

    click.echo(f"{FID_LABEL}  {event['fid']:.3f}", nl=False)
    click.echo(f"   (real training digits, same n: {reference:.3f})" if reference is not None else "")
    click.echo(f"mean confidence  {event['confidence']:.3f}")
    hist = event["histogram"]
    top = max(max(hist), 1)
    for digit, count in enumerate(hist):
        click.echo(f"  {digit} {'█' * round(BAR_WIDTH * count / top):<{BAR_WIDTH}} {count}")
    click.echo(f"digit entropy  {histogram_entropy(hist) + 0.0:.2f} bits (3.32 = all ten digits equally)")
    if table:
        click.echo("reconstructions against the originals:\n" + format_table(table))


@click.command("eval")
@click.argument("run_ref", metavar="[RUN]", default="latest")  # as watch and serve: the newest run
@runs_dir_option
@click.option("--epoch", type=int, default=None, help="Evaluate the weights of this epoch (see --keep-snapshots).")
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None, help="A checkpoint file.")
@click.option("-n", "n", type=int, default=1000, show_default=True, help="How many samples to score.")
@click.option("--sampler", default=None, help="Sampler (default: the run's preview sampler).")
@click.option("--steps", type=int, default=None, help="Steps of a strided sampler, e.g. ddim (default: the run's).")
@click.option("--ema/--no-ema", "ema", default=None, help="Use the EMA weights [default: EMA if the run kept one].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampling noise.")
@click.option("--device", default="auto", show_default=True)
@click.option("--data-dir", default=None, help="MNIST folder and classifier cache [default: the run's; DIFFDASH_DATA].")
@click.option("--no-write", is_flag=True, help="Only print: append no eval event (and, for a sweep, write no files).")
@click.option(
    "--guidance",
    "guidance_text",
    default=None,
    metavar="W[,W...]",
    help="Class-conditional runs: guidance scale(s) " + GUIDANCE_HELP + "; several (0,1,2,4,8) sweep them: a table "
    "and a PNG of FID and accuracy against guidance under <run>/eval/ [default: the run's].",
)
def eval_command(
    run_ref: str,
    runs_dir: Path | None,
    epoch: int | None,
    checkpoint: Path | None,
    n: int,
    sampler: str | None,
    steps: int | None,
    ema: bool | None,
    seed: int,
    device: str,
    data_dir: str | None,
    no_write: bool,
    guidance_text: str | None = None,
) -> None:
    """Score a run's samples: FID (MNIST classifier), digit histogram, confidence; for a class-conditional
    run also accuracy (the classifier names the digit asked for) and per-digit FID and confidence.

    \b
    diffdash eval latest -n 1000 --sampler ddim --steps 50
    diffdash eval my-run --epoch 5 --no-ema
    diffdash eval my-cond-run --guidance 0,1,2,4,8
    """
    run = find_run(runs_dir, run_ref)
    if epoch is not None and checkpoint is not None:
        raise click.UsageError("give --epoch or --checkpoint, not both")
    if not 2 <= n <= EVAL_MAX:
        raise bad("n", f"-n must lie in 2..{EVAL_MAX} (FID needs a covariance; it settles long before), got {n}")
    if steps is not None and steps < 1:
        raise bad("steps", f"--steps must be at least 1, got {steps}")
    if epoch is not None and epoch < 1:
        raise bad("epoch", f"--epoch must be at least 1, got {epoch}")
    check_seed_option(seed)
    config = read_run_config(run)
    sampler, steps = run_sampler(config, sampler, steps)
    guidances = eval_guidances(run, config, guidance_text)
    path = pick_checkpoint(run, epoch, checkpoint)
    if checkpoint is None:
        read_run_checkpoint(run, path)  # a damaged file: one line naming it, before any work
    from diffdash.machine.devices import DeviceError, resolve_device

    try:
        dev = resolve_device(device)
    except DeviceError as exc:
        raise bad("device", str(exc)) from None
    from diffdash.checkpoint import CheckpointError
    from diffdash.metrics.run_eval import EvalError, evaluate_run
    from diffdash.mnist.load import DataError

    try:
        events, reference, table = evaluate_run(
            run,
            config,
            path,
            n=n,
            sampler=sampler,
            steps=steps,
            ema=ema,
            seed=seed,
            device=dev,
            data_dir=data_dir,
            prepare=ensure_classifier,
            say=lambda m: click.secho(m, fg="yellow", err=True),
            guidances=guidances,
        )
    except EvalError as exc:
        raise bad(exc.param, str(exc)) from None
    except CheckpointError as exc:
        raise run_error(run, str(exc)) from None
    except DataError as exc:
        raise bad("data_dir", str(exc)) from None
    event = events[0]
    weights = "EMA" if event["weights"] == "ema" else "raw"
    click.echo(
        f"{run.id}  epoch {event['epoch']} (step {event['step']})  {weights} weights  "
        f"{sampler} {event['steps']} steps  n={n}  seed {seed}  data {event['dataset']}"
    )
    if len(events) > 1:
        from diffdash.commands.guidance_sweep import report_sweep

        report_sweep(run, events, reference, write=not no_write)  # beside the run, not appended to its metrics
        return
    print_figures(event, reference, table)
    if "accuracy" in event:
        from diffdash.commands.guidance_sweep import print_per_digit

        print_per_digit(event)
    click.echo(f"took {event['seconds']:.1f} s")
    if not no_write:
        run.append_events([event])
        click.echo(f"appended an eval event to {run.metrics_path}")


commands = [eval_command]
