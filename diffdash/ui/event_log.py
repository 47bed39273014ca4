"""`e` in the dashboard: every event of the run's metrics.jsonl as a line, oldest first (the event line shows
only the newest). Per-step lines are many and alike, so they are left out until `s` asks for them."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Log, Static

from diffdash.store import RunDir
from diffdash.ui.widgets.fitting_footer import FittingFooter

PLACE = ("event", "epoch", "step", "images", "time")  # the fields every line starts with


def event_line(e: dict[str, Any]) -> str:
    """'epoch      epoch 3  step 120  train_loss=0.0412 val_loss=0.0398 ...': kind, place, then its own fields."""
    own = " ".join(f"{k}={_short(v)}" for k, v in e.items() if k not in PLACE)
    return f"{e.get('event', '?'):<10} epoch {e.get('epoch', '-')}  step {e.get('step', '-')}  {own}".rstrip()


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ",".join(_short(v) for v in value) + "]"
    return str(value)


class EventLogScreen(Screen[None]):
    """The run's events, read from its folder when opened (and again with `r`); escape or `e` goes back."""

    DEFAULT_CSS = """
    EventLogScreen > #log-title { height: 1; background: $boost; padding: 0 1; }
    EventLogScreen > Log { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape,e,q", "close", "back"),
        Binding("s", "toggle_steps", "step lines"),
        Binding("r", "reload", "reload"),
    ]

    def __init__(self, run: RunDir):
        super().__init__()
        self.run = run
        self.show_steps = False
        self.events: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="log-title")
        yield Log(highlight=False)
        yield FittingFooter()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        try:
            self.events, _ = self.run.read_events(0)
        except OSError as exc:
            self.events = []
            self.notify(f"cannot read {self.run.metrics_path}: {exc}", severity="error")
        self.draw()

    def action_toggle_steps(self) -> None:
        self.show_steps = not self.show_steps
        self.draw()

    def draw(self) -> None:
        shown = [e for e in self.events if self.show_steps or e.get("event") != "step"]
        steps = sum(e.get("event") == "step" for e in self.events)
        hidden = "" if self.show_steps or not steps else f" · {steps:,} step lines left out (s shows them)"
        title = f"{self.run.metrics_path}: {len(self.events):,} events{hidden}"
        self.query_one("#log-title", Static).update(title)
        log = self.query_one(Log)
        log.clear()
        log.write_lines(event_line(e) for e in shown)

    def action_close(self) -> None:
        self.dismiss()
