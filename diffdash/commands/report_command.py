"""`diffdash report`: the coursework's comparison figures as PNGs, plus metrics.csv and index.md."""

from __future__ import annotations

from pathlib import Path

import click

from diffdash.commands.common import find_runs, parse_epochs, runs_dir_option


@click.command("report")
@click.argument("run_refs", metavar="RUN [RUN...]", nargs=-1, required=True)
@runs_dir_option
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write (new, or empty unless --force).",
)
@click.option(
    "--epochs",
    default=None,
    help="Epochs of the side-by-side sample figures, e.g. 1,25,50,75,100 "
    "[default: those of 1,25,50,75,100 reached, else five spread over the run].",
)
@click.option("--force", is_flag=True, help="Replace the output folder if it already holds files.")
def report_command(
    run_refs: tuple[str, ...], runs_dir: Path | None, output: Path, epochs: str | None, force: bool
) -> None:
    """Write PNG figures (each run's loss, the overlay, grids side by side per epoch, FID), metrics.csv, index.md.

    \b
    diffdash report 1 2 -o report/ --epochs 1,25,50,75,100
    Needs matplotlib: pip install 'diffdash[report]'.
    """
    chosen = parse_epochs(epochs)
    runs = find_runs(runs_dir, run_refs)
    if output.exists() and not output.is_dir():
        raise click.BadParameter(f"{output} exists and is not a folder", param_hint="--output")
    from diffdash.commands.output_paths import check_output

    check_output(output, folder=True)
    if output.is_dir() and any(output.iterdir()) and not force:
        raise click.BadParameter(
            f"{output} already holds files: choose a new folder or pass --force to replace it",
            param_hint="--output",
        )
    if chosen:
        reached = max((max((e for e, _ in r.samples()), default=0) for r in runs), default=0)
        late = [e for e in chosen if e > reached]
        if late:
            raise click.BadParameter(
                f"no run has a sample grid at epoch {', '.join(map(str, late))}: "
                f"the latest grid of these runs is at epoch {reached}",
                param_hint="--epochs",
            )
    from diffdash.compare.report import MatplotlibMissing, require_matplotlib

    try:
        require_matplotlib()
    except MatplotlibMissing as exc:
        raise click.ClickException(str(exc)) from None
    from diffdash.compare.report.build import build_report

    click.echo(f"writing report of {len(runs)} run(s) to {output}")
    files = build_report(runs, output, chosen, say=click.echo)
    click.echo(f"wrote {len(files)} files; open {output / 'index.md'}")


commands = [report_command]
