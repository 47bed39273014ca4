"""A run's metrics as series for charts and tables, built from metrics.jsonl events.

`History.apply` takes one event at a time, so the same code reads a finished run at once and follows
a live one line by line (`Follower`). A 'resumed' event drops what the crash undid: entries logged
after the checkpoint the run resumed from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from diffdash.store import RunDir


@dataclass
class History:
    step: list[int] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)
    step_images: list[int] = field(default_factory=list)
    step_time: list[float] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    epoch_step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    epoch_images: list[int] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    images_per_s: list[float] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    start: dict[str, Any] | None = None
    last: dict[str, Any] | None = None

    def apply(self, e: dict[str, Any]) -> None:
        kind = e.get("event")
        self.last = e
        if kind == "step" and "loss" in e:
            self.step.append(e["step"])
            self.step_loss.append(e["loss"])
            self.step_images.append(e.get("images", 0))
            self.step_time.append(e.get("time", 0.0))
        elif kind == "epoch":
            self.epoch.append(e["epoch"])
            self.epoch_step.append(e.get("step", 0))
            self.train_loss.append(e.get("train_loss"))
            self.val_loss.append(e.get("val_loss"))
            self.epoch_images.append(e.get("images", 0))
            self.epoch_time.append(e.get("time", 0.0))
            self.epoch_seconds.append(e.get("seconds", 0.0))
            self.images_per_s.append(e.get("images_per_s", 0.0))
        elif kind == "sample":
            self.samples.append(e)
        elif kind == "eval":
            self.evals.append(e)
        elif kind in ("start", "resumed"):
            if kind == "resumed":
                self._undo_after(e.get("step", 0))
            self.start = e if self.start is None or kind == "start" else {**self.start, **e}
            self.notices.append(e)
        else:
            self.notices.append(e)

    def _undo_after(self, step: int) -> None:
        """Drop every series entry logged after `step`, the step the run resumed from."""
        for steps, names in (
            (self.step, ("step", "step_loss", "step_images", "step_time")),
            (self.epoch_step, ("epoch", "epoch_step", "train_loss", "val_loss", "epoch_images", "epoch_time",
                               "epoch_seconds", "images_per_s")),
        ):  # fmt: skip
            keep = [i for i, s in enumerate(steps) if s <= step]
            for name in names:
                values = getattr(self, name)
                setattr(self, name, [values[i] for i in keep])
        self.samples = [s for s in self.samples if s.get("step", 0) <= step]
        self.evals = [s for s in self.evals if s.get("step", 0) <= step]

    @property
    def best_val(self) -> tuple[float, int] | None:
        pairs = [(v, e) for v, e in zip(self.val_loss, self.epoch, strict=False) if v is not None]
        return min(pairs) if pairs else None


def read_history(run: RunDir) -> History:
    h = History()
    for e in run.read_events()[0]:
        h.apply(e)
    return h


class Follower:
    """Reads new events as a run's metrics.jsonl grows (for `watch` and live `compare`)."""

    def __init__(self, run: RunDir):
        self.run = run
        self.offset = 0
        self.history = History()

    def poll(self) -> list[dict[str, Any]]:
        events, self.offset = self.run.read_events(self.offset)
        for e in events:
            self.history.apply(e)
        return events
