"""Where a run's time went, from its events: training seconds, images/s, and the seconds spent validating,
drawing previews, evaluating and on the rest (setup, checkpoint writes).

One definition for every view (the dashboard, `watch --plain`, `runs`, compare, report, the headless
summary, export), so they all give the same training time and images/s for one run.

An event's `time` is the run's clock: pauses left out, resumes summed, but validation and previews in.
The seconds between two events belong to what ended at the second one: a step's seconds are training, an
epoch event's are its validation, a sample's a preview, an eval's an evaluation, anything else's (setup
before the first step, a checkpoint's write, a stop) are "other". Training seconds are therefore the time
the steps took: the epochs' own `seconds` to the millisecond, and known mid-epoch too. A `resumed` marker
puts the figures back to where they stood at its step (the events after it were undone). No torch, no UI.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from diffdash.store.events import step_of

BUCKETS = {"step": "train", "epoch": "val", "sample": "preview", "eval": "evaluation"}


@dataclass
class TimeSpent:
    """Fed a run's events in order (`apply`); its figures are those at the newest one."""

    train: float = 0.0  # training seconds: the x axis called "training time", export's `time`
    val: float = 0.0
    preview: float = 0.0
    evaluation: float = 0.0
    other: float = 0.0
    images: int = 0  # training images seen
    clock: float | None = None  # the run clock at the newest timed event
    _marks: list[tuple[int, TimeSpent]] = field(default_factory=list, repr=False, compare=False)

    def apply(self, e: dict[str, Any]) -> float | None:
        """Take the next event; returns its place on the training-time axis (None: an event without time,
        such as a phase report)."""
        t = e.get("time")
        kind = e.get("event")
        if kind in ("progress", "system") or not isinstance(t, (int, float)) or isinstance(t, bool):
            return None
        if kind == "resumed":
            self._rewind(step_of(e))
        gap = max(float(t) - (self.clock or 0.0), 0.0)
        bucket = BUCKETS.get(str(kind), "other")
        setattr(self, bucket, getattr(self, bucket) + gap)
        self.clock = float(t)
        images = e.get("images")
        if isinstance(images, int) and not isinstance(images, bool):
            self.images = images
        if kind != "step":  # where a later resume may put the figures back to
            self._marks.append((step_of(e), self._snapshot()))
        return self.train

    @property
    def total(self) -> float:
        return self.train + self.val + self.preview + self.evaluation + self.other

    @property
    def images_per_s(self) -> float | None:
        """Training images over training seconds: the run's rate, as every view gives it."""
        return self.images / self.train if self.train > 0 and self.images else None

    def _snapshot(self) -> TimeSpent:
        return replace(self, _marks=[])

    def _rewind(self, step: int) -> None:
        """Back to the figures at the last event at or before `step` (or to nothing, when none was seen)."""
        while self._marks and self._marks[-1][0] > step:
            self._marks.pop()
        before = self._marks[-1][1] if self._marks else TimeSpent()
        for f in fields(self):
            if f.name != "_marks":
                setattr(self, f.name, getattr(before, f.name))


def time_spent(events: list[dict[str, Any]]) -> TimeSpent:
    """The figures of a whole run's events (as `RunDir.read_events` gives them)."""
    spent = TimeSpent()
    for e in events:
        spent.apply(e)
    return spent
