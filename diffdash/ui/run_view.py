"""What the dashboard shows about one run, as plain data, fed one event at a time.

The same object is filled from the engine's live events (a run trained in this process) or from
metrics.jsonl read incrementally (a run trained elsewhere), so both screens agree. Its series are the
run reducer's (`History`) in a bounded copy: per-step losses are thinned under a cap. Position, rate and
ETA are a RunProgress, the same one the headless lines use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from diffdash.runs.event_text import describe_event
from diffdash.runs.history import History
from diffdash.runs.progress import RunProgress
from diffdash.store.events import END_KINDS
from diffdash.ui.chart_series import Series
from diffdash.ui.chart_views import figure_series

STEP_CAP = 512  # per-step points the dashboard keeps, however long the run
COLORS = {"train": "cyan", "epoch": "orange", "val": "magenta"}


@dataclass
class RunView:
    history: History = field(default_factory=lambda: History(step_cap=STEP_CAP))
    run_id: str = ""
    meter: RunProgress = field(default_factory=RunProgress)
    last_loss: float | None = None
    state: str = "waiting"
    error: str | None = None

    steps = property(lambda self: self.history.steps)
    epochs = property(lambda self: self.history.epochs)
    evals = property(lambda self: self.history.evals)
    last = property(lambda self: self.history.last or {})

    def apply(self, e: dict[str, Any], now: float | None = None) -> set[str]:
        """Take one event (arrived at clock reading `now`); returns what changed: chart, samples,
        progress, notice, evals, state."""
        kind = e.get("event")
        changed = {"progress"}
        self.meter.apply(e, now)
        if kind == "progress":
            return changed
        self.history.apply(e)
        if kind == "step":
            loss = e.get("loss")
            if loss is not None:
                self.last_loss = float(loss)
                changed.add("chart")
            if self.state == "waiting":
                self.state = "running"
            return changed
        if kind in ("start", "resumed"):
            self.state, self.error = "running", None
            changed |= {"chart", "state"}
        elif kind in ("epoch", "system"):
            changed.add("chart")
        elif kind == "sample":
            changed.add("samples")
        elif kind == "eval":
            changed |= {"evals", "chart"}  # the quality view (`g`) draws the evaluations
        elif kind in END_KINDS:
            self.state, self.error = kind, e.get("error")
            changed.add("state")
        if describe_event(e, self.run_id):
            changed.add("notice")
        return changed

    # ---------------------------------------------------------------- derived figures
    @property
    def epochs_total(self) -> int:
        return self.meter.totals["epochs"]

    @property
    def steps_per_epoch(self) -> int:
        return self.meter.totals["steps_per_epoch"]

    def progress(self, running: bool = True, now: float | None = None) -> dict[str, Any]:
        """Epoch and run progress (0..1), training images/s, elapsed (ticking at `now`) and ETA.

        `running` is False when the run's status says it is over or paused (a watched run may end
        without an event).
        """
        return self.meter.figures(now, running=running and self.state == "running")

    def images_per_s(self) -> float | None:
        return self.meter.images_per_s()

    def chart_series(self, view: str = "loss") -> list[Series]:
        """The chart's lines for `view` (chart_views.CHART_VIEWS): the losses, or one of the figures beside them."""
        h = self.history
        if view != "loss":
            return figure_series(h, view, self.steps_per_epoch, color=COLORS["train"], second_color=COLORS["val"])
        step_x, step_y = h.step_x(self.steps_per_epoch)
        epoch_x = h.epoch_x()
        return [
            Series("train (step)", step_x, step_y, COLORS["train"], smooth=True),
            Series("train (epoch)", epoch_x, h.train_loss, COLORS["epoch"], smooth=False),
            Series("val", epoch_x, h.val_loss, COLORS["val"], smooth=False, kind="val", epoch_marks=True),
        ]
