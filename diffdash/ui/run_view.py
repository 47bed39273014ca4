"""What the dashboard shows about one run, as plain data, fed one event at a time.

The same object is filled from the engine's live events (a run trained in this process) or from
metrics.jsonl read incrementally (a run trained elsewhere), so both screens agree. Its size is
bounded: per-step losses go to a ThinSeries, notices to a short deque; position, rate and ETA are
a RunProgress, the same one the headless lines use.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from diffdash.run_progress import RunProgress
from diffdash.ui.widgets.event_line import describe_event
from diffdash.ui.widgets.series import Series, ThinSeries

END_STATES = ("finished", "stopped", "failed")
COLORS = {"train": "cyan", "epoch": "orange", "val": "magenta"}


@dataclass
class RunView:
    steps: ThinSeries = field(default_factory=lambda: ThinSeries(cap=512))
    epochs: list[dict[str, Any]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    notices: deque = field(default_factory=lambda: deque(maxlen=8))
    run_id: str = ""
    meter: RunProgress = field(default_factory=RunProgress)
    start: dict[str, Any] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)
    last_loss: float | None = None
    state: str = "waiting"
    error: str | None = None
    n_events: int = 0

    def apply(self, e: dict[str, Any], now: float | None = None) -> set[str]:
        """Take one event (arrived at clock reading `now`); returns what changed: chart, samples,
        progress, notice, evals, state."""
        kind = e.get("event")
        self.n_events += 1
        changed = {"progress"}
        self.meter.apply(e, now)
        if kind == "progress":
            return changed
        self.last = e
        if kind == "step":
            loss = e.get("loss")
            if loss is not None:
                self.last_loss = float(loss)
                self.steps.add(self._xs(e), float(loss))
                changed.add("chart")
            if self.state == "waiting":
                self.state = "running"
            return changed
        if kind in ("start", "resumed"):
            if kind == "resumed":
                self.steps.drop_after("step", e.get("step", 0))
                self.epochs = [x for x in self.epochs if x.get("step", 0) <= e.get("step", 0)]
                self.evals = [x for x in self.evals if x.get("step", 0) <= e.get("step", 0)]
            self.start = {**self.start, **e}
            self.state, self.error = "running", None
            changed |= {"chart", "state"}
        elif kind == "epoch":
            self.epochs.append(e)
            changed.add("chart")
        elif kind == "sample":
            changed.add("samples")
        elif kind == "eval":
            self.evals.append(e)
            changed.add("evals")
        elif kind in END_STATES:
            self.state, self.error = kind, e.get("error")
            changed.add("state")
        text = describe_event(e, self.run_id)
        if text:
            self.notices.appendleft(text)
            changed.add("notice")
        return changed

    @staticmethod
    def _xs(e: dict[str, Any]) -> dict[str, float]:
        return {"step": e.get("step", 0), "images": e.get("images", 0), "time": e.get("time", 0.0)}

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

    def chart_series(self) -> list[Series]:
        cols, y = self.steps.view()
        cols["epoch"] = [s / (self.steps_per_epoch or 1) for s in cols["step"]]
        ep_x = {a: [float(e.get(a, 0)) for e in self.epochs] for a in ("epoch", "step", "images", "time")}
        return [
            Series("train (step)", cols, y, COLORS["train"], smooth=True),
            Series("train (epoch)", ep_x, [e.get("train_loss") for e in self.epochs], COLORS["epoch"], smooth=False),
            Series(
                "val",
                ep_x,
                [e.get("val_loss") for e in self.epochs],
                COLORS["val"],
                smooth=False,
                kind="val",
                epoch_marks=True,
            ),
        ]

    def best_val(self) -> tuple[float, int] | None:
        pairs = [(e["val_loss"], e["epoch"]) for e in self.epochs if e.get("val_loss") is not None]
        return min(pairs) if pairs else None
