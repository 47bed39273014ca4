"""How far a run is, from its events: position, training rate, the phase it is in, elapsed and ETA.

One definition for every view (the dashboard, `watch`, the headless lines), so they agree. The rate
is training images per *training* second: any event that is not a step (validation, a preview, a
checkpoint) restarts the window, so the time spent outside training never dilutes it; a run that is not
training gives its whole-run rate (`time_spent`: images over training seconds), as every other view does.
The ETA adds the validations, previews and evaluations still ahead (the ones an epoch that just ended
still owes included), measured once seen and estimated before that, and counts down inside each of them
(by its progress, else by the clock), so it never stands still while validation or a preview runs.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from diffdash.options.cadence import CadenceError, parse_cadence
from diffdash.runs.time_spent import TimeSpent

DATASET_SIZES = {"mnist": (60_000, 10_000), "mnist-small": (10_000, 1_000)}  # train, test digits
DATASET_LABELS = {"mnist": "MNIST", "mnist-small": "the bundled MNIST subset"}
FORWARD_SPEEDUP = 3.0  # a forward pass alone costs about a third of a training step (forward + backward)
PREVIEW_N = 16  # digits in a preview grid (4 x 4), drawn by diffdash.training.previews
EVAL_SHARE = 0.1  # --eval-every's default sample count costs ~10 % of the training between two (metrics.evaluate)
CLASSIFIER_PHASE = "training the MNIST classifier"  # --eval-every's first evaluation (once per data set)
PHASE_COSTS = {"validating": "val", "sampling": "preview", "evaluating": "eval"}  # phase -> what it costs


def totals_from_config(config: dict[str, Any]) -> dict[str, int]:
    """Epochs, steps an epoch and train/val sizes as the config implies them, before the data is loaded."""
    n_train, n_val = DATASET_SIZES.get(config.get("dataset", "mnist"), (0, 0))
    n_train = int(config.get("n_train") or min(n_train, config.get("train_limit") or n_train))
    n_val = int(config.get("n_val") or min(n_val, config.get("val_limit") or n_val))
    batch = int(config.get("batch_size") or 128)
    spe = int(config.get("steps_per_epoch") or (math.ceil(n_train / batch) if n_train else 0))
    return {"epochs": int(config.get("epochs") or 0), "steps_per_epoch": spe, "n_train": n_train, "n_val": n_val}


class RunProgress:
    """Fed one event at a time (`apply`); `figures(now)` says where the run stands."""

    def __init__(self, config: dict[str, Any] | None = None):
        self.config: dict[str, Any] = {}
        self.totals = {"epochs": 0, "steps_per_epoch": 0, "n_train": 0, "n_val": 0}
        self.last: dict[str, Any] = {}
        self.last_loss: float | None = None
        self.arrived: float | None = None  # clock reading when the last timed event arrived (ticking)
        self.phase: dict[str, Any] | None = None
        self.window: deque = deque(maxlen=64)
        self.epoch_rate: float | None = None
        self.recent_rate: float | None = None
        self.done_epochs = 0
        self.val_seconds: float | None = None
        self.preview_seconds: float | None = None
        self.eval_seconds: float | None = None
        self.preview_passes: int | None = None  # network passes of one preview, once a preview reported them
        self.owed: set[str] = set()  # "preview", "eval": still due at the end of the epoch that just ended
        self.phase_since: float | None = None  # clock reading when the current phase began
        self.time = TimeSpent()  # training seconds and where the rest went (the closing summary's figures)
        self.grids = 0
        self.use_config(config or {})

    def use_config(self, config: dict[str, Any]) -> None:
        self.config = {**self.config, **config}
        known = totals_from_config(self.config)
        self.totals = {k: v or self.totals.get(k, 0) for k, v in known.items()}

    # ---------------------------------------------------------------- events
    @property
    def spent(self) -> dict[str, float]:
        t = self.time
        return {"train": t.train, "val": t.val, "preview": t.preview, "eval": t.evaluation, "other": t.other}

    def apply(self, e: dict[str, Any], now: float | None = None) -> None:
        kind = e.get("event")
        if kind == "system":  # a resource sample beside training: it ends no phase and moves no clock
            return
        if "time" in e:
            self.last, self.arrived = e, now
        self.time.apply(e)
        if kind == "step":
            self.phase, self.owed = None, set()
            if e.get("loss") is not None:
                self.last_loss = float(e["loss"])
            self.window.append((float(e.get("time", 0.0)), int(e.get("images", 0))))
            return
        if kind != "progress":
            self.recent_rate = self._window_rate() or self.recent_rate
            self.window.clear()  # whatever this was took time that is not training
        if kind == "progress":  # one without a phase says the phase is over (a follower of the status file)
            phase = {k: e.get(k) for k in ("phase", "done", "total")} if e.get("phase") else None
            if phase is None or phase["phase"] != (self.phase or {}).get("phase"):
                self.phase_since = now
            if phase and phase["phase"] == "sampling" and phase.get("total"):
                self.preview_passes = int(phase["total"])
            self.phase = phase
            return
        self.phase = None
        if kind in ("start", "resumed"):
            for key in ("epochs", "steps_per_epoch", "n_train", "n_val"):
                if e.get(key):
                    self.totals[key] = int(e[key])
            if kind == "resumed":
                self.done_epochs = max(int(e.get("epoch", 1)) - 1, 0)
        elif kind == "epoch":
            self.done_epochs = int(e.get("epoch", self.done_epochs + 1))
            self.epoch_rate = e.get("images_per_s") or self.epoch_rate
            if e.get("val_seconds") is not None:
                self.val_seconds = float(e["val_seconds"])
            self.owed = self._owed_at_end(self.done_epochs)
        elif kind == "sample":
            self.grids += 1
            self.owed.discard("preview")
            if e.get("seconds") is not None:
                self.preview_seconds = float(e["seconds"])
        elif kind == "eval":
            self.owed.discard("eval")
            if e.get("seconds") is not None:
                self.eval_seconds = float(e["seconds"])
        elif kind == "checkpoint":
            self.owed = set()

    # ---------------------------------------------------------------- figures
    def _window_rate(self) -> float | None:
        if len(self.window) >= 2:
            (t0, i0), (t1, i1) = self.window[0], self.window[-1]
            if t1 > t0 and i1 > i0:
                return (i1 - i0) / (t1 - t0)
        return None

    def images_per_s(self) -> float | None:
        """Over the recent steps; just after a pause in training, the rate before it."""
        return self._window_rate() or self.recent_rate or self.epoch_rate

    def phase_text(self) -> str | None:
        p = self.phase
        if not p:
            return None
        done, total = p.get("done"), p.get("total")
        if p["phase"] == "loading data":
            return f"loading {DATASET_LABELS.get(self.config.get('dataset', 'mnist'), 'data')} …"
        if total:
            return f"{p['phase']} {done or 0:,}/{total:,}"
        return f"{p['phase']} step {done or 0:,}" if done is not None else f"{p['phase']} …"

    # ---------------------------------------------------------------- what is still ahead
    def _cadence_grids(self, epochs: int) -> int:
        try:
            return parse_cadence(self.config.get("sample_every", "auto")).epoch_grids(epochs)
        except CadenceError:
            return epochs

    def _evals_in(self, first: int, last: int) -> int:
        """--eval-every evaluations at the ends of epochs first..last (the last epoch always evaluates)."""
        every = self.config.get("eval_every")
        if not every or last < first:
            return 0
        return sum(1 for k in range(first, last + 1) if k % int(every) == 0 or k == self.totals["epochs"])

    def _owed_at_end(self, epoch: int) -> set[str]:
        """What the end of `epoch` draws after its epoch event: a grid when due, an evaluation when due."""
        owed = set()
        if epoch == self.totals["epochs"] or self._cadence_grids(epoch) > self._cadence_grids(epoch - 1):
            owed.add("preview")
        if self._evals_in(epoch, epoch):
            owed.add("eval")
        return owed

    def costs(self, rate: float) -> dict[str, float]:
        """Seconds one validation, one preview and one evaluation take: as measured once seen, else
        estimated from the training rate (a forward pass costs about a third of a training step)."""
        t, cfg = self.totals, self.config
        steps = int(cfg.get("sample_steps") or 50)
        forward = FORWARD_SPEEDUP * rate
        if cfg.get("eval_n"):
            evaluation = int(cfg["eval_n"]) * steps / forward
        else:
            evaluation = EVAL_SHARE * int(cfg.get("eval_every") or 1) * t["n_train"] / rate
        return {
            "val": self.val_seconds or t["n_val"] / forward,
            "preview": self.preview_seconds or PREVIEW_N * (self.preview_passes or steps) / forward,
            "eval": self.eval_seconds or evaluation,
        }

    def eta(self, rate: float | None, now: float | None = None) -> float | None:
        """Training still ahead at `rate`, plus the validations, previews and evaluations still ahead, less
        what the current phase has done (its progress, else the seconds since it began at `now`)."""
        t = self.totals
        if not (rate and t["epochs"] and t["n_train"]):
            return None
        cost = self.costs(rate)
        training = max(t["epochs"] * t["n_train"] - int(self.last.get("images", 0)), 0) / rate
        epochs_left = max(t["epochs"] - self.done_epochs, 0)
        grids = max(self._cadence_grids(epochs_left), 1 if epochs_left else 0)  # the last epoch always draws one
        ahead = {
            "val": float(epochs_left),
            "preview": float(grids + ("preview" in self.owed)),
            "eval": float(self._evals_in(self.done_epochs + 1, t["epochs"]) + ("eval" in self.owed)),
        }
        p = self.phase or {}
        current = PHASE_COSTS.get(p.get("phase") or "")
        since = max(now - self.phase_since, 0.0) if now is not None and self.phase_since is not None else 0.0
        if current:
            done = min((p.get("done") or 0) / p["total"], 1.0) if p.get("total") else min(since / cost[current], 1.0)
            ahead[current] = max(ahead[current], 1.0) - done  # a preview inside an epoch was not counted ahead
        elif not p and now is not None and self.arrived is not None:  # counts down between events too
            since_event = max(now - self.arrived, 0.0)
            if self.owed:  # an epoch ended: its grid (then its evaluation) is under way
                owed = "preview" if "preview" in self.owed else "eval"
                ahead[owed] -= min(since_event / cost[owed], 1.0)
            elif self.last.get("event") == "step":
                training = max(training - since_event, 0.0)
        return training + sum(ahead[k] * cost[k] for k in ahead)

    def figures(self, now: float | None = None, running: bool = True) -> dict[str, Any]:
        """Position (0..1), rate, elapsed (ticking at `now` while running) and ETA, for a panel or a line."""
        t = self.totals
        spe, total = t["steps_per_epoch"], t["epochs"]
        step = int(self.last.get("step", 0))
        epoch = int(self.last.get("epoch", 0)) or (1 if running and total else 0)
        if spe and step:
            in_epoch = step - (max(epoch, 1) - 1) * spe
            epoch_frac = 1.0 if epoch <= self.done_epochs else min(max(in_epoch / spe, 0.0), 1.0)
        else:
            epoch_frac = 0.0
        elapsed = float(self.last.get("time", 0.0))
        if running and now is not None and self.arrived is not None:
            elapsed += max(now - self.arrived, 0.0)
        # a run that is not training shows its whole-run rate (training images per training second), which is
        # what every other view says; while it trains, the recent steps' rate
        rate = self.images_per_s() if running else self.time.images_per_s or self.images_per_s()
        eta = self.eta(rate, now) if running else None
        run_frac = min(step / (spe * total), 1.0) if spe and total else 0.0
        if eta is not None and elapsed + eta > 0:  # by time, so it moves through validation and previews too
            run_frac = min(elapsed / (elapsed + eta), 1.0)
        return {
            "epoch": epoch,
            "epochs": total,
            "step": step,
            "steps": spe * total,
            "epoch_frac": epoch_frac,
            "run_frac": run_frac,
            "images_per_s": rate,
            "elapsed": elapsed,
            "train_time": self.time.train,
            "eta": eta,
            "running": running,
            "loss": self.last_loss,
            "phase": self.phase_text(),
        }
