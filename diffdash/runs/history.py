"""The one reducer of a run's events into series and summaries: `History`.

`History.apply` takes one event at a time, so the same code reads a finished run at once (`read_history`),
follows a live one line by line (`Follower`, for `watch`, `compare` and studies) and feeds the dashboard,
which keeps a bounded copy (`History(step_cap=...)`). A `resumed` event drops what the resume undid
(`events.survives_resume`); chart x values come from `step_x` and `epoch_x`, whose "time" is training time
(`time_spent`: validation and previews left out). Every view reads these, so none of them repeats a rule.
"""

from __future__ import annotations

from typing import Any

from diffdash.runs.thin_series import STEP_COLUMNS, ThinSeries
from diffdash.runs.time_spent import TimeSpent
from diffdash.store import RunDir
from diffdash.store.events import step_of, survives_resume

EPOCH_COLUMNS = ("epoch", "step", "images", "time")  # the x values of an epoch's figures, at its end
STEP_FIGURES = ("lr", "grad_norm")  # per-step figures beside the loss (runs recorded before them have none)
SYSTEM_FIGURES = ("cpu_percent", "rss_bytes", "gpu_mem_bytes")  # from `system` events, every few seconds
_EPOCH_KEYS = {"time": "train_time"}  # the time axis is training time, which History adds to each epoch


class History:
    """Step losses (in a ThinSeries, capped or not), the epoch, sample and eval events, and the opening."""

    def __init__(self, step_cap: int | None = None):
        self.steps = ThinSeries(STEP_COLUMNS, cap=step_cap)
        self.figures = {name: ThinSeries(STEP_COLUMNS, cap=step_cap) for name in STEP_FIGURES + SYSTEM_FIGURES}
        self.epochs: list[dict[str, Any]] = []
        self.samples: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.start: dict[str, Any] | None = None  # the start event, updated by each resumed one
        self.last: dict[str, Any] | None = None  # the newest event applied
        self.time = TimeSpent()  # training seconds and images/s so far, and where the rest went

    def apply(self, e: dict[str, Any]) -> None:
        kind = e.get("event")
        if kind == "progress":  # a phase report: not a metric
            return
        self.last = e
        train_time = self.time.apply(e)
        if kind in ("epoch", "sample", "eval") and train_time is not None:
            e = {**e, "train_time": round(train_time, 3)}
        if kind == "step" and "loss" in e:
            xs = {a: e.get(a, 0) for a in STEP_COLUMNS}
            self.steps.add({**xs, "time": round(train_time, 3) if train_time is not None else 0}, e["loss"])
            self._add_figures(e, STEP_FIGURES, train_time)
        elif kind == "system":
            self._add_figures(e, SYSTEM_FIGURES, self.time.train)  # placed at the training time so far
        elif kind == "epoch":
            self.epochs.append(e)
        elif kind == "sample":
            self.samples.append(e)
        elif kind == "eval":
            self.evals.append(e)
        elif kind == "start":
            self.start = e
        elif kind == "resumed":
            self._resume(step_of(e))
            self.start = {**(self.start or {}), **e}

    def _resume(self, step: int) -> None:
        """Forget everything the resume from `step` undid."""
        self.steps.keep_where(lambda xs: survives_resume(xs, step))
        for series in self.figures.values():
            series.keep_where(lambda xs: survives_resume(xs, step))
        self.epochs = [e for e in self.epochs if survives_resume(e, step)]
        self.samples = [e for e in self.samples if survives_resume(e, step)]
        self.evals = [e for e in self.evals if survives_resume(e, step)]

    # ---------------------------------------------------------------- the x-axis rule
    @property
    def steps_per_epoch(self) -> int | None:
        return (self.start or {}).get("steps_per_epoch")

    def step_x(self, steps_per_epoch: int | None = None) -> tuple[dict[str, list[float]], list[float]]:
        """Per-step points: x columns step and images as logged, time as training seconds (`time_spent`), and
        epoch as the fractional epoch
        (step / steps per epoch, from the run's opening event, else `steps_per_epoch`); and the losses."""
        cols, y = self.steps.view()
        spe = self.steps_per_epoch or steps_per_epoch or 1
        cols["epoch"] = [s / spe for s in cols["step"]]
        return cols, y

    def figure_x(self, name: str, steps_per_epoch: int | None = None) -> tuple[dict[str, list[float]], list[float]]:
        """One of STEP_FIGURES or SYSTEM_FIGURES with its x columns, as `step_x` gives the losses'."""
        cols, y = self.figures[name].view()
        spe = self.steps_per_epoch or steps_per_epoch or 1
        cols["epoch"] = [s / spe for s in cols["step"]]
        return cols, y

    def _add_figures(self, e: dict[str, Any], names: tuple[str, ...], train_time: float | None) -> None:
        xs = {a: e.get(a, 0) for a in STEP_COLUMNS}
        xs["time"] = round(train_time, 3) if train_time is not None else 0
        for name in names:
            value = e.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.figures[name].add(xs, value)

    def epoch_x(self) -> dict[str, list[float]]:
        """Per-epoch points: the epoch number, and step, images and training time at the epoch's end."""
        return {a: [float(e.get(_EPOCH_KEYS.get(a, a), 0)) for e in self.epochs] for a in EPOCH_COLUMNS}

    # ---------------------------------------------------------------- series by name
    def _step_col(self, name: str) -> list[float]:
        return self.steps.view()[0][name]

    step = property(lambda self: self._step_col("step"))
    step_images = property(lambda self: self._step_col("images"))
    step_time = property(lambda self: self._step_col("time"))
    step_loss = property(lambda self: self.steps.view()[1])
    epoch = property(lambda self: [e.get("epoch", 0) for e in self.epochs])
    epoch_step = property(lambda self: [e.get("step", 0) for e in self.epochs])
    train_loss = property(lambda self: [e.get("train_loss") for e in self.epochs])
    val_loss = property(lambda self: [e.get("val_loss") for e in self.epochs])
    epoch_images = property(lambda self: [e.get("images", 0) for e in self.epochs])
    epoch_time = property(lambda self: [e.get("train_time", 0.0) for e in self.epochs])  # training seconds
    epoch_seconds = property(lambda self: [e.get("seconds", 0.0) for e in self.epochs])
    images_per_s = property(lambda self: [e.get("images_per_s", 0.0) for e in self.epochs])

    # ---------------------------------------------------------------- summaries
    @property
    def best_val(self) -> tuple[float, int] | None:
        """(lowest validation loss, its epoch)."""
        pairs = [(e["val_loss"], e.get("epoch", 0)) for e in self.epochs if e.get("val_loss") is not None]
        return min(pairs) if pairs else None

    @property
    def last_val(self) -> float | None:
        return next((v for v in reversed(self.val_loss) if v is not None), None)

    def fid_at(self, epoch: int) -> float | None:
        """The newest FID evaluated at `epoch`."""
        fids = [e.get("fid") for e in self.evals if e.get("epoch") == epoch]
        return fids[-1] if fids else None


def read_history(run: RunDir) -> History:
    h = History()
    for e in run.read_events()[0]:
        h.apply(e)
    return h


class Follower:
    """Reads new events as a run's metrics.jsonl grows (for `watch`, live `compare` and studies)."""

    def __init__(self, run: RunDir):
        self.run = run
        self.offset = 0
        self.history = History()

    def poll(self) -> list[dict[str, Any]]:
        events, self.offset = self.run.read_events(self.offset)
        for e in events:
            self.history.apply(e)
        return events
