"""Short human lines for the events worth telling a user about (grid written, checkpoint saved, NaN…).

Rich markup colours the endings; the dashboard's event line shows them, `watch --plain` prints them
without the markup.
"""

from __future__ import annotations

from typing import Any


def describe_event(e: dict[str, Any], run_id: str = "") -> str | None:
    """A short human line for an event worth telling the user about; None for per-step noise."""
    kind = e.get("event")
    epoch = e.get("epoch", 0)
    if kind == "start":
        epochs, steps = e.get("epochs"), e.get("steps_per_epoch")
        line = f"started: {epochs} epoch{'' if epochs == 1 else 's'} of {steps} step{'' if steps == 1 else 's'}"
        line += f" on {e.get('device')}"
        if e.get("data_notice"):
            line = f"[yellow]{e['data_notice']}[/] · {line}"
        if e.get("level_notice"):
            line = f"[yellow]{e['level_notice']}[/] · {line}"
        return line
    if kind == "resumed":
        return f"resumed at epoch {epoch}, step {e.get('step')}"
    if kind == "epoch":
        return f"epoch {epoch} done: train {_f(e.get('train_loss'))} val {_f(e.get('val_loss'))}"
    if kind == "sample":
        return f"grid written: {e.get('path') or 'preview'}"
    if kind == "checkpoint":
        return f"checkpoint saved at step {e.get('step')}"
    if kind == "eval":
        return f"eval: FID {_f(e.get('fid'), 2)} at epoch {epoch}"
    if kind == "finished":
        return f"[green]run finished[/] at epoch {epoch}"
    if kind == "stopped":
        return f"[yellow]run stopped[/] at step {e.get('step')}: resume with diffdash resume {run_id or 'RUN'}"
    if kind == "failed":
        return f"[red]run failed[/]: {e.get('error') or 'unknown error'}"
    return None


def _f(v: Any, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}f}"
