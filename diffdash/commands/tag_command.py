"""`diffdash tag RUN WORD...`: words attached to a run, kept in its folder; `runs --tag` and compare's `/` use them."""

from __future__ import annotations

from pathlib import Path

import click

from diffdash.commands.common import find_run, runs_dir_option


@click.command("tag")
@click.argument("run_ref", metavar="RUN")
@click.argument("words", metavar="[WORD...]", nargs=-1)
@runs_dir_option
@click.option("--rm", "remove", is_flag=True, help="Remove the words from the run's tags instead of adding them.")
def tag_command(run_ref: str, words: tuple[str, ...], runs_dir: Path | None, remove: bool) -> None:
    """Tag a run with words (or --rm them); with no WORD, print its tags.

    \b
    diffdash tag latest baseline lr-sweep
    diffdash tag latest --rm lr-sweep
    diffdash runs --tag baseline          # and `/` in compare filters by tag
    Tags live in the run folder (tags.json), so copies of the folder keep them.
    """
    from diffdash.store.tags import TagError, add_tags, read_tags, remove_tags

    run = find_run(runs_dir, run_ref)
    if not words:
        if remove:
            raise click.UsageError("--rm needs the words to remove, e.g. diffdash tag RUN --rm baseline")
        tags = read_tags(run)
        click.echo(" ".join(tags) if tags else f"{run.id} has no tags")
        return
    if remove:
        tags, missing = remove_tags(run, words)
        if missing:
            click.echo(f"not a tag of {run.id}: {' '.join(missing)}", err=True)
    else:
        try:
            tags = add_tags(run, words)
        except TagError as exc:
            raise click.BadParameter(str(exc), param_hint="WORD") from None
    click.echo(f"{run.id}: {' '.join(tags) if tags else '(no tags)'}")


commands = [tag_command]
