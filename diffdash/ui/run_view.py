"""What the dashboard shows about one run, as plain data, fed one event at a time.

The same object is filled from the engine's live events (a run trained in this process) or from
metrics.jsonl read incrementally (a run trained elsewhere), so both screens agree. Its size is
bounded: per-step losses go to a ThinSeries, recent rates and notices to short deques.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

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
    rate_window: deque = field(default_factory=lambda: deque(maxlen=64))
    start: dict[str, Any] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)
    last_loss: float | None = None
    state: str = "waiting"
    error: str | None = None
    n_events: int = 0

    def apply(self, e: dict[str, Any]) -> set[str]:
        """Take one event; returns what changed: chart, samples, progress, notice, evals, state."""
        kind = e.get("event")
        self.n_events += 1
        changed = {"progress"}
        self.last = e
        if kind == "step":
            loss = e.get("loss")
            if loss is not None:
                self.last_loss = float(loss)
                self.steps.add(self._xs(e), float(loss))
                changed.add("chart")
            self.rate_window.append((e.get("time", 0.0), e.get("images", 0)))
            if self.state == "waiting":
                self.state = "running"
            return changed
        if kind in ("start", "resumed"):
            if kind == "resumed":
                self.steps.drop_after("step", e.get("step", 0))
                self.epochs = [x for x in self.epochs if x.get("step", 0) <= e.get("step", 0)]
                self.evals = [x for x in self.evals if x.get("step", 0) <= e.get("step", 0)]
            self.start = {**self.start, **e}
            self.rate_window.clear()
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
        text = describe_event(e)
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
        return int(self.start.get("epochs") or 0)

    @property
    def steps_per_epoch(self) -> int:
        return int(self.start.get("steps_per_epoch") or 0)

    def progress(self, running: bool = True) -> dict[str, Any]:
        """Epoch and run progress (0..1), images/s over recent steps, elapsed and ETA in seconds.

        `running` is False when the run's status says it is over (a watched run may end without an event).
        """
        spe, total = self.steps_per_epoch, self.epochs_total
        step = int(self.last.get("step", 0))
        epoch = int(self.last.get("epoch", 0))
        run_frac = step / (spe * total) if spe and total else 0.0
        done_epochs = len(self.epochs) and self.epochs[-1].get("epoch", 0)
        if spe and step:
            in_epoch = step - (max(epoch, 1) - 1) * spe
            epoch_frac = 1.0 if epoch <= done_epochs else min(max(in_epoch / spe, 0.0), 1.0)
        else:
            epoch_frac = 0.0
        rate = self.images_per_s()
        elapsed = float(self.last.get("time", 0.0))
        eta = None
        n_train = self.start.get("n_train") or 0
        if rate and spe and total and running and self.state == "running":
            remaining_images = max(total * n_train - int(self.last.get("images", 0)), 0)
            eta = remaining_images / rate
        return {
            "epoch": epoch,
            "epochs": total,
            "step": step,
            "steps": spe * total,
            "epoch_frac": epoch_frac,
            "run_frac": min(run_frac, 1.0),
            "images_per_s": rate,
            "elapsed": elapsed,
            "eta": eta,
            "loss": self.last_loss,
        }

    def images_per_s(self) -> float | None:
        if len(self.rate_window) >= 2:
            (t0, i0), (t1, i1) = self.rate_window[0], self.rate_window[-1]
            if t1 > t0 and i1 > i0:
                return (i1 - i0) / (t1 - t0)
        if self.epochs:
            return self.epochs[-1].get("images_per_s")
        return None

    def chart_series(self) -> list[Series]:
        cols, y = self.steps.view()
        ep_x = {a: [float(e.get(a, 0)) for e in self.epochs] for a in ("step", "images", "time")}
        return [
            Series("train (step)", cols, y, COLORS["train"], smooth=True),
            Series("train (epoch)", ep_x, [e.get("train_loss") for e in self.epochs], COLORS["epoch"], smooth=False),
            Series("val", ep_x, [e.get("val_loss") for e in self.epochs], COLORS["val"], smooth=False),
        ]

    def best_val(self) -> tuple[float, int] | None:
        pairs = [(e["val_loss"], e["epoch"]) for e in self.epochs if e.get("val_loss") is not None]
        return min(pairs) if pairs else None
