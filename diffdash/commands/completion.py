"""Shell completion: run references for every RUN argument, and the allowed values of the free-text options.

Click completes `click.Choice` options by itself; diffdash's --model, --device, --sampler... are plain strings
validated later (so a bad value gets a message that names the fix), so their values are offered here.
`attach_completion` runs once over the whole command tree, so a new command's RUN argument completes too.
Enable it per shell as the README says (`_DIFFDASH_COMPLETE=bash_source diffdash`, ...).
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem

RUN_ARGUMENTS = ("run_ref", "run_refs")
VALUE_OPTIONS = ("model", "device", "precision", "sampler", "dataset", "norm", "degradation", "blur_schedule",
                 "preview_weights", "schedule")  # fmt: skip


def option_values() -> dict[str, tuple[str, ...]]:
    """Values of the string options, read from the modules that validate them (cheap: no torch)."""
    from diffdash.config import BLUR_SCHEDULES, DEVICES, MODELS, PRECISIONS, PREVIEW_WEIGHTS
    from diffdash.degradations import names
    from diffdash.diffusion.samplers import all_names
    from diffdash.diffusion.schedules import SCHEDULES

    return {
        "model": MODELS,
        "device": DEVICES,
        "precision": PRECISIONS,
        "sampler": all_names(),
        "dataset": ("mnist", "mnist-small"),
        "norm": ("chw", "hw"),
        "degradation": names(),
        "blur_schedule": BLUR_SCHEDULES,
        "preview_weights": PREVIEW_WEIGHTS,
        "schedule": tuple(SCHEDULES),
    }


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


def complete_values(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The allowed values of a string option (looked up only when a shell asks)."""
    values = option_values().get(param.name or "", ())
    return [CompletionItem(v) for v in values if v.startswith(incomplete)]


def attach_completion(group: click.Group) -> None:
    """Give every RUN argument and every string option of VALUE_OPTIONS its completions (click's
    `shell_complete=` hook, set after the fact so the commands' modules stay as they are)."""
    for command in group.commands.values():
        for param in command.params:
            if isinstance(param, click.Argument) and param.name in RUN_ARGUMENTS:
                param._custom_shell_complete = complete_runs
            elif param.name in VALUE_OPTIONS and not isinstance(param.type, click.Choice):
                param._custom_shell_complete = complete_values
