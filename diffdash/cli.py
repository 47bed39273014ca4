"""The `diffdash` command. Each command lives in diffdash/commands/; none imports torch or textual
at module level, so `diffdash --help` answers instantly."""

from __future__ import annotations

import importlib

import click

from diffdash import __version__
from diffdash.commands.completion import attach_completion

COMMAND_MODULES = [
    "diffdash.commands.train_commands",
    "diffdash.commands.sample_command",
    "diffdash.commands.eval_command",
    "diffdash.commands.watch_command",
    "diffdash.commands.runs_commands",
    "diffdash.commands.tidy_commands",
    "diffdash.commands.tag_command",
    "diffdash.commands.compare_commands",
    "diffdash.commands.report_command",
    "diffdash.commands.serve_command",
    "diffdash.commands.study_command",
]


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    invoke_without_command=True,
)
@click.version_option(__version__, prog_name="diffdash")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """diffdash: train, watch and compare diffusion models on MNIST, in the terminal.

    \b
    Start here:
      diffdash new --epochs 1            train the coursework DDPM (live dashboard)
      diffdash runs                      list runs
      diffdash resume latest             continue the newest run
    """
    if ctx.invoked_subcommand is None:  # bare `diffdash`: the help, and success (asking is not an error)
        click.echo(ctx.get_help())


for _name in COMMAND_MODULES:
    for _command in importlib.import_module(_name).commands:
        cli.add_command(_command)
attach_completion(cli)


def main() -> None:
    """Runs the CLI; a full disk in any command ends with one line, not a traceback (exit 1: not a usage error).

    Training handles its own full disk (status and metrics say so); this is for the rest: tag, note, sample,
    export, report writing where the disk has no room.
    """
    from diffdash.fsutil import is_disk_full

    try:
        cli(prog_name="diffdash")  # click exits on its own for usage errors, Ctrl-C and normal ends
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        where = getattr(exc, "filename", None)
        click.echo(f"Error: disk full{f' while writing {where}' if where else ''}", err=True)
        raise SystemExit(1) from None
