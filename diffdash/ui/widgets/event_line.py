"""One line of the most recent noteworthy events (grid written, checkpoint saved, NaN at step N...)."""

from __future__ import annotations

from collections import deque
from typing import Any

from textual.widgets import Static

from diffdash.runs.event_text import describe_event

__all__ = ["EventLine", "describe_event"]

# the request notes (pushed by the keys) that an event of this kind fulfils
ANSWERS = {"sample": "grid requested", "checkpoint": "checkpoint requested"}


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

    def push_event(self, e: dict[str, Any], run_id: str = "") -> None:
        text = describe_event(e, run_id)
        if text:
            answered = ANSWERS.get(e.get("event"))
            if answered:  # "grid requested: drawing…" is no longer true once a grid came
                self.recent = deque((r for r in self.recent if not r.startswith(answered)), maxlen=self.recent.maxlen)
            self.push(text)
