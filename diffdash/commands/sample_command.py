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
    if output is None:
        output = run.samples_dir / f"sample-{sampler}-{steps}-seed{seed}-n{n}.png"
    if output.exists() and not force:
        raise bad("output", f"{output} exists: pass --force to overwrite it or choose another -o")
    from diffdash.devices import DeviceError, resolve_device
    from diffdash.images import save_grid
    from diffdash.sampling import sample_run

    try:
        dev = resolve_device(device)
    except DeviceError as exc:
        raise bad("device", str(exc)) from None
    x = sample_run(run, n, sampler, steps, seed, dev)
    output.parent.mkdir(parents=True, exist_ok=True)
    save_grid(x, output)
    click.echo(f"wrote {n} samples ({sampler}, {steps if sampler == 'ddim' else config.n_T} steps) to {output}")


commands = [sample_command]
