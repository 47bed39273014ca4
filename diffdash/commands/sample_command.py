"""`diffdash sample`: draw a grid from a run's last checkpoint."""

from __future__ import annotations

import math
from pathlib import Path

import click

from diffdash.commands.class_options import class_options
from diffdash.commands.common import (
    bad,
    check_seed_option,
    find_run,
    image_mode_option,
    read_run_checkpoint,
    read_run_config,
    run_error,
    run_sampler,
    runs_dir_option,
)
from diffdash.commands.grid_display import fresh_path, show_grid, write_fresh
from diffdash.options.cond_options import GUIDANCE_HELP

SAMPLE_MAX = 10_000  # a 100x100 grid; more is a data set, which `eval` scores in batches without a grid
SAMPLE_BATCH = 250


@click.command("sample")
@click.argument("run_ref", metavar="[RUN]", default="latest")  # as watch and serve: the newest run
@runs_dir_option
@click.option("-n", "n", type=int, default=None, help="How many samples [default: 16; with --digit all, 8 per digit].")
@click.option("--sampler", default=None, help="One of the run's samplers, e.g. ddim (default: its preview sampler).")
@click.option("--steps", type=int, default=None, help="Steps of a strided sampler, e.g. ddim (default: the run's).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PNG to write (default: <run>/samples/sample-<sampler>-<steps>-seed<seed>-n<n>.png).",
)
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists (default: a fresh name).")
@click.option("--show/--no-show", default=None, help="Draw the grid in the terminal too [default: when on one].")
@image_mode_option
@click.option(
    "--start",
    type=click.Choice(("generate", "reconstruct")),
    default="generate",
    show_default=True,
    help="Cold runs: generate new digits from the prior, or reconstruct degraded held-out digits.",
)
@click.option("--prior-t", type=int, default=None, help="Cold runs: start generation at this t* (default: run's).")
@click.option("--gen-noise", type=float, default=None, help="Cold runs: noise σ added per step (default: run's).")
@click.option(
    "--digit",
    default=None,
    metavar="0..9|all",
    help="Class-conditional runs: draw this digit, or all (one row per digit, -n per row) [default: all].",
)
@click.option(
    "--guidance",
    type=float,
    default=None,
    help="Class-conditional runs: guidance scale " + GUIDANCE_HELP + " [default: the run's].",
)
def sample_command(
    run_ref: str,
    runs_dir: Path | None,
    n: int,
    sampler: str | None,
    steps: int | None,
    seed: int,
    device: str,
    output: Path | None,
    force: bool,
    show: bool | None = None,
    image_mode: str = "auto",
    start: str = "generate",
    prior_t: int | None = None,
    gen_noise: float | None = None,
    digit: str | None = None,
    guidance: float | None = None,
) -> None:
    """Sample a grid of digits from a run.

    \b
    diffdash sample latest -n 64 --sampler ddim --steps 50 -o grid.png
    diffdash sample my-cond-run --digit 7 --guidance 3
    diffdash sample my-cond-run --digit all --guidance 0   (one row per digit)
    """
    run = find_run(runs_dir, run_ref)
    per_row = n if n is not None else 8
    n = n if n is not None else 16
    if not 1 <= n <= SAMPLE_MAX:
        raise bad(
            "n", f"-n must lie in 1..{SAMPLE_MAX} (a {int(SAMPLE_MAX**0.5)}x{int(SAMPLE_MAX**0.5)} grid), got {n}"
        )
    if steps is not None and steps < 1:
        raise bad("steps", f"--steps must be at least 1, got {steps}")
    check_seed_option(seed)
    if not run.last_checkpoint.is_file():
        raise click.BadParameter(f"run {run.id} has no checkpoint yet", param_hint="RUN")
    config = read_run_config(run)
    sampler, steps = run_sampler(config, sampler, steps)
    check_cold_options(config, start, prior_t, gen_noise)
    cond = class_options(run, config, digit, guidance)
    if cond is not None and cond.digit == "all":
        n = 10 * per_row
        if n > SAMPLE_MAX:
            raise bad("n", f"-n with --digit all is per digit: at most {SAMPLE_MAX // 10}, got {per_row}")
    if output is None:
        kind = f"{sampler}-{start}" if config.model == "cold" else sampler
        output = run.samples_dir / f"sample-{kind}-{steps}-seed{seed}-n{n}{cond.suffix if cond else ''}.png"
    from diffdash.commands.output_paths import check_output

    check_output(output)  # before the fresh-name rule: a device or FIFO is refused, never stepped around
    new_folder = missing_folder(output)
    taken = output if output.exists() and not force else None
    if taken is not None:
        output = fresh_path(output)  # never overwrite without --force, never refuse either
    from diffdash.machine.devices import DeviceError, resolve_device
    from diffdash.machine.memory_budget import MemoryBudgetError, check_fits, describe_network, sampling_bytes
    from diffdash.mnist.grids import save_grid

    try:
        dev = resolve_device(device)
    except DeviceError as exc:
        raise bad("device", str(exc)) from None
    batch = min(n, SAMPLE_BATCH)
    try:
        check_fits(
            sampling_bytes(config, batch * (2 if cond is not None and cond.guidance else 1), n),  # guided: 2x wide
            dev,
            "n",
            f"sampling {n} digits {batch} at a time from {describe_network(config)}",
            "ask for fewer with -n",
        )
    except MemoryBudgetError as exc:
        raise bad(exc.param, str(exc)) from None
    net, process = load_for_sampling(run, config, dev)
    if config.model == "cold":
        if prior_t is not None:
            process.prior_t = prior_t
        if gen_noise is not None:
            process.gen_noise = gen_noise
    from diffdash.metrics.evaluate import generate

    options = {"start": start} if config.model == "cold" else {}
    if cond is not None:
        options = {"labels": cond.labels(n), "guidance": cond.guidance}
    x = generate(process, net, n, sampler=sampler, steps=steps, seed=seed, batch=batch, **options)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        nrow = per_row if cond is not None and cond.digit == "all" else None
        if force:
            save_grid(x, output, nrow=nrow)
        else:  # the name is taken again at the last moment: another process may have written it meanwhile
            requested = taken or output
            output = write_fresh(requested, lambda tmp: save_grid(x, tmp, nrow=nrow))
            taken = requested if output != requested else None
    except OSError as exc:  # the folder changed while sampling (removed, made read-only, filled up)
        from diffdash.commands.output_paths import refused

        raise refused(output, exc, "--output") from None
    from diffdash.diffusion.samplers import passes

    said = f", {cond.describe()}" if cond is not None else ""
    click.echo(
        f"wrote {n} samples ({sampler}, {passes(config.model, sampler, steps, config.n_T)} steps{said}) to {output}"
    )
    if new_folder is not None:
        click.echo(f"(made the folder {output.parent}, which did not exist)")
    if taken is not None:
        click.echo(f"({taken.name} exists: wrote {output.name} beside it; --force overwrites)")
    if show is not False:
        show_grid(output, image_mode, force=show is True)


def missing_folder(output: Path) -> Path | None:
    """The outermost folder of `output` that does not exist yet (made after sampling, and said), or exit 2
    before sampling when something on the way is a file."""
    missing = None
    for folder in output.parents:
        if folder.is_dir():
            return missing
        if folder.exists():
            raise bad("output", f"cannot write {output}: {folder} is a file, not a folder")
        missing = folder
    return missing


def load_for_sampling(run, config, device: str):
    """The run's network with last.pt's weights, and its process; exit 2 when the checkpoint is unusable."""
    from diffdash.checkpoint import CheckpointError
    from diffdash.diffusion import build_process
    from diffdash.runs.trained_network import trained_network

    ck = read_run_checkpoint(run, device=device)
    try:
        net = trained_network(config, ck["model"], run.last_checkpoint, device)
    except CheckpointError as exc:
        raise run_error(run, str(exc)) from None
    process = build_process(config, device)
    if process.needs_data:
        process.attach_data(*run_digits(run, config, device))
    return net, process


def run_digits(run, config, device: str):
    """The digits the run trained on (no download: the run's own files), for a process that samples from them."""
    from diffdash.mnist.load import DataError, load_mnist, run_tensors

    try:
        data = load_mnist(config.dataset, config.data_dir, download=False)
    except DataError as exc:
        raise run_error(run, str(exc)) from None
    return run_tensors(data, config.train_limit, config.val_limit, device)


def check_cold_options(config, start: str, prior_t: int | None, gen_noise: float | None) -> None:
    """--start/--prior-t/--gen-noise only mean something for cold runs, within the run's n_T."""
    if config.model != "cold":
        if start != "generate" or prior_t is not None or gen_noise is not None:
            raise bad("start", f"--start, --prior-t and --gen-noise apply to cold runs; this run is {config.model}")
        return
    if prior_t is not None and not 1 <= prior_t <= config.n_T:
        raise bad("prior_t", f"--prior-t must lie in 1..{config.n_T} (the run's n_T), got {prior_t}")
    if gen_noise is not None and not (math.isfinite(gen_noise) and gen_noise >= 0):
        raise bad("gen_noise", f"--gen-noise must be a finite number, zero or above, got {gen_noise}")


commands = [sample_command]
