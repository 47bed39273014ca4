"""Short human lines for the events worth telling a user about (grid written, checkpoint saved, NaN…).

Rich markup colours the endings; the dashboard's event line shows them, `watch --plain` prints them
without the markup.
"""

from __future__ import annotations

from typing import Any

from diffdash.formats import format_loss, plural


def describe_event(e: dict[str, Any], run_id: str = "") -> str | None:
    """A short human line for an event worth telling the user about; None for per-step noise."""
    kind = e.get("event")
    epoch = e.get("epoch", 0)
    if kind == "start":
        line = f"started: {_count(e.get('epochs'), 'epoch')} of {_count(e.get('steps_per_epoch'), 'step')}"
        notices = [e[key] for key in ("level_notice", "data_notice") if e.get(key)]
        return " · ".join([*(f"[yellow]{n}[/]" for n in notices), f"{line} on {e.get('device')}"])
    if kind == "resumed":
        return f"resumed at epoch {epoch}, step {e.get('step')}"
    if kind == "epoch":
        train, val = format_loss(e.get("train_loss"), 4), format_loss(e.get("val_loss"), 4)
        return f"epoch {epoch} done: train {train} val {val}"
    if kind == "sample":
        return f"grid written: {e.get('path') or 'preview'}"
    if kind == "checkpoint":
        return f"checkpoint saved at step {e.get('step')}"
    if kind == "eval":
        return f"eval: FID {format_loss(e.get('fid'), 2)} at epoch {epoch}"
    if kind == "finished":
        return f"[green]run finished[/] at epoch {epoch}"
    if kind == "stopped" and e.get("reason") == "max-time":
        more = f"diffdash resume {run_id or 'RUN'} --max-time LONGER"
        return f"[yellow]run stopped[/] at step {e.get('step')}: its --max-time is spent; more with {more}"
    if kind == "stopped":
        return f"[yellow]run stopped[/] at step {e.get('step')}: resume with diffdash resume {run_id or 'RUN'}"
    if kind == "failed":
        return f"[red]run failed[/]: {e.get('error') or 'unknown error'}"
    return None


def _count(n: Any, word: str) -> str:
    return plural(n, word) if isinstance(n, int) else f"{n} {word}s"  # an old event may lack the figure
