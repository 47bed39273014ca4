"""`diffdash sample`: draw a grid from a run's last checkpoint."""

from __future__ import annotations

from pathlib import Path

import click

from diffdash.commands.common import bad, find_run, runs_dir_option


@click.command("sample")
@click.argument("run_ref", metavar="RUN")
@runs_dir_option
@click.option("-n", "n", type=int, default=16, show_default=True, help="How many samples.")
@click.option("--sampler", default=None, help="ddim or ancestral (default: the run's preview sampler).")
@click.option("--steps", type=int, default=None, help="Sampling steps for ddim (default: the run's).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PNG to write (default: <run>/samples/sample-<sampler>-<steps>-seed<seed>-n<n>.png).",
)
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.option(
    "--start",
    type=click.Choice(("generate", "reconstruct")),
    default="generate",
    show_default=True,
    help="Cold runs: generate new digits from the prior, or reconstruct degraded held-out digits.",
)
@click.option("--prior-t", type=int, default=None, help="Cold runs: start generation at this t* (default: run's).")
@click.option("--gen-noise", type=float, default=None, help="Cold runs: noise σ added per step (default: run's).")
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
    start: str = "generate",
    prior_t: int | None = None,
    gen_noise: float | None = None,
) -> None:
    """Sample a grid of digits from a run.

    \b
    diffdash sample latest -n 64 --sampler ddim --steps 50 -o grid.png
    """
    run = find_run(runs_dir, run_ref)
    if n < 1:
        raise bad("n", f"-n must be at least 1, got {n}")
    if steps is not None and steps < 1:
        raise bad("steps", f"--steps must be at least 1, got {steps}")
    if not run.last_checkpoint.is_file():
        raise click.BadParameter(f"run {run.id} has no checkpoint yet", param_hint="RUN")
    from diffdash.config import RunConfig
    from diffdash.diffusion import samplers_for

    config = RunConfig.from_dict(run.read_config())
    sampler = sampler or config.sampler
    if sampler not in samplers_for(config.model):
        raise bad("sampler", f"unknown sampler {sampler!r}: choose one of {', '.join(samplers_for(config.model))}")
    steps = steps or config.sample_steps
    check_cold_options(config, start, prior_t, gen_noise)
    if output is None:
        kind = f"{sampler}-{start}" if config.model == "cold" else sampler
        output = run.samples_dir / f"sample-{kind}-{steps}-seed{seed}-n{n}.png"
    if output.exists() and not force:
        raise bad("output", f"{output} exists: pass --force to overwrite it or choose another -o")
    from diffdash.devices import DeviceError, resolve_device
    from diffdash.images import save_grid
    from diffdash.sampling import sample_run

    try:
        dev = resolve_device(device)
    except DeviceError as exc:
        raise bad("device", str(exc)) from None
    if config.model == "cold":
        x = sample_cold(run, n, sampler, steps, seed, dev, start=start, prior_t=prior_t, gen_noise=gen_noise)
    else:
        x = sample_run(run, n, sampler, steps, seed, dev)
    output.parent.mkdir(parents=True, exist_ok=True)
    save_grid(x, output)
    click.echo(f"wrote {n} samples ({sampler}, {steps if sampler == 'ddim' else config.n_T} steps) to {output}")


def check_cold_options(config, start: str, prior_t: int | None, gen_noise: float | None) -> None:
    """--start/--prior-t/--gen-noise only mean something for cold runs, within the run's n_T."""
    if config.model != "cold":
        if start != "generate" or prior_t is not None or gen_noise is not None:
            raise bad("start", f"--start, --prior-t and --gen-noise apply to cold runs; this run is {config.model}")
        return
    if prior_t is not None and not 1 <= prior_t <= config.n_T:
        raise bad("prior_t", f"--prior-t must lie in 1..{config.n_T} (the run's n_T), got {prior_t}")
    if gen_noise is not None and not gen_noise >= 0:
        raise bad("gen_noise", f"--gen-noise must be zero or positive, got {gen_noise}")


def sample_cold(run, n: int, sampler: str, steps: int, seed: int, device: str, *, start, prior_t, gen_noise):
    from diffdash.sampling import load_trained

    net, process, _ = load_trained(run, device)
    if prior_t is not None:
        process.prior_t = prior_t
    if gen_noise is not None:
        process.gen_noise = gen_noise
    return process.sample(net, n, sampler=sampler, steps=steps, seed=seed, start=start)


commands = [sample_command]
