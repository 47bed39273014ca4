"""One line of the most recent noteworthy events (grid written, checkpoint saved, NaN at step N...)."""

from __future__ import annotations

from collections import deque
from typing import Any

from textual.widgets import Static


def describe_event(e: dict[str, Any]) -> str | None:
    """A short human line for an event worth telling the user about; None for per-step noise."""
    kind = e.get("event")
    epoch = e.get("epoch", 0)
    if kind == "start":
        line = f"started: {e.get('epochs')} epochs of {e.get('steps_per_epoch')} steps on {e.get('device')}"
        if e.get("data_notice"):
            line = f"[yellow]{e['data_notice']}[/] · {line}"
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
        return f"[yellow]run stopped[/] at step {e.get('step')}: resume with diffdash resume"
    if kind == "failed":
        return f"[red]run failed[/]: {e.get('error') or 'unknown error'}"
    return None


def _f(v: Any, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


class EventLine(Static):
    """Shows the last few events, newest first, separated by dots; keeps only `keep` of them."""

    DEFAULT_CSS = """
    EventLine { height: 1; width: 1fr; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, keep: int = 4, *, id: str | None = None, classes: str | None = None):
        super().__init__("", id=id, classes=classes, markup=True)
        self.recent: deque[str] = deque(maxlen=keep)

    def push(self, text: str) -> None:
        self.recent.appendleft(text)
        self.update("  ·  ".join(self.recent))

    def push_event(self, e: dict[str, Any]) -> None:
        text = describe_event(e)
        if text:
            self.push(text)
