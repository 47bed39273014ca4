"""Shell completion: run references for every RUN argument, and the allowed values of the free-text options.

Click completes `click.Choice` options by itself; diffdash's --model, --net, --device, --sampler... are plain
strings validated by the option table (so a bad value gets a message that names the fix), and their choices,
read from that table, are offered here.
`attach_completion` runs once over the whole command tree, so a new command's RUN argument completes too.
Enable it per shell as the README says (`_DIFFDASH_COMPLETE=bash_source diffdash`, ...).
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem

RUN_ARGUMENTS = ("run_ref", "run_refs")
TAG_PARAMS = {"runs": ("tags",), "ls": ("tags",), "tag": ("words",)}  # command -> its parameters that take tags


def option_values() -> dict[str, tuple[str, ...]]:
    """The allowed values of every run option that has a fixed set, from the option table (cheap: no torch)."""
    from diffdash.options.table import OPTIONS

    return {o.name: tuple(map(str, o.allowed())) for o in OPTIONS if o.choices}


def options_with_values() -> set[str]:
    """Their names, without computing the values (which `complete_values` looks up only when a shell asks)."""
    from diffdash.options.table import OPTIONS

    return {o.name for o in OPTIONS if o.choices}


def complete_runs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Run ids and names under the runs folder (--runs-dir when already typed, else DIFFDASH_RUNS / ./runs)."""
    from diffdash.store import runs_root, sorted_runs

    root = runs_root(ctx.params.get("runs_dir"))
    items = [CompletionItem("latest", help="the newest run")] if "latest".startswith(incomplete) else []
    try:
        runs = sorted_runs(root)
    except OSError:
        return items
    for i, run in enumerate(runs, 1):
        name = _name(run)
        if run.id.startswith(incomplete):
            items.append(CompletionItem(run.id, help=f"#{i}" + (f" {name}" if name else "")))
        if name and name != run.id and name.startswith(incomplete):
            items.append(CompletionItem(name, help=f"#{i} {run.id}"))
    return items


def _name(run) -> str | None:
    try:
        name = run.read_config().get("name")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) else None


def complete_tags(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Tags in use under the runs folder (`runs --tag`, `tag RUN WORD`), each with how many runs carry it."""
    from collections import Counter

    from diffdash.store import runs_root, sorted_runs
    from diffdash.store.tags import read_tags

    try:
        counts = Counter(t for run in sorted_runs(runs_root(ctx.params.get("runs_dir"))) for t in read_tags(run))
    except OSError:
        return []
    return [CompletionItem(t, help=f"{n} run{'s' if n > 1 else ''}") for t, n in sorted(counts.items())
            if t.startswith(incomplete)]  # fmt: skip


def complete_values(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The allowed values of a string option (looked up only when a shell asks)."""
    values = option_values().get(param.name or "", ())
    return [CompletionItem(v) for v in values if v.startswith(incomplete)]


def attach_completion(group: click.Group) -> None:
    """Give every RUN argument and every option with choices in the option table its completions (click's
    `shell_complete=` hook, set after the fact so the commands' modules stay as they are)."""
    values = options_with_values()
    for command in group.commands.values():
        for param in command.params:
            if isinstance(param, click.Argument) and param.name in RUN_ARGUMENTS:
                param._custom_shell_complete = complete_runs
            elif param.name in TAG_PARAMS.get(command.name or "", ()):
                param._custom_shell_complete = complete_tags
            elif param.name in values and not isinstance(param.type, click.Choice):
                param._custom_shell_complete = complete_values
