"""How far a run is, from its events: position, training rate, the phase it is in, elapsed and ETA.

One definition for every view (the dashboard, `watch`, the headless lines), so they agree. The rate
is training images per *training* second: any event that is not a step (validation, a preview, a
checkpoint) restarts the window, so the time spent outside training never dilutes it. The ETA adds
the validations and previews still ahead, measured once seen and estimated before that.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from diffdash.cadence import CadenceError, parse_cadence

DATASET_SIZES = {"mnist": (60_000, 10_000), "mnist-small": (10_000, 1_000)}  # train, test digits
DATASET_LABELS = {"mnist": "MNIST", "mnist-small": "the bundled MNIST subset"}
FORWARD_SPEEDUP = 3.0  # a forward pass alone costs about a third of a training step (forward + backward)
PREVIEW_N = 16  # digits in a preview grid (4 x 4), drawn by diffdash.training.previews


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


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
        self.spent = {"train": 0.0, "val": 0.0, "preview": 0.0}
        self.grids = 0
        self.use_config(config or {})

    def use_config(self, config: dict[str, Any]) -> None:
        self.config = {**self.config, **config}
        known = totals_from_config(self.config)
        self.totals = {k: v or self.totals.get(k, 0) for k, v in known.items()}

    # ---------------------------------------------------------------- events
    def apply(self, e: dict[str, Any], now: float | None = None) -> None:
        kind = e.get("event")
        if "time" in e:
            self.last, self.arrived = e, now
        if kind == "step":
            self.phase = None
            if e.get("loss") is not None:
                self.last_loss = float(e["loss"])
            self.window.append((float(e.get("time", 0.0)), int(e.get("images", 0))))
            return
        if kind != "progress":
            self.recent_rate = self._window_rate() or self.recent_rate
            self.window.clear()  # whatever this was took time that is not training
        if kind == "progress":  # one without a phase says the phase is over (a follower of the status file)
            self.phase = {k: e.get(k) for k in ("phase", "done", "total")} if e.get("phase") else None
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
            self.spent["train"] += float(e.get("seconds") or 0.0)
            if e.get("val_seconds") is not None:
                self.val_seconds = float(e["val_seconds"])
                self.spent["val"] += self.val_seconds
        elif kind == "sample":
            self.grids += 1
            if e.get("seconds") is not None:
                self.preview_seconds = float(e["seconds"])
                self.spent["preview"] += self.preview_seconds

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

    def eta(self, rate: float | None) -> float | None:
        """Training still ahead at `rate`, plus the validations and previews still ahead."""
        t = self.totals
        if not (rate and t["epochs"] and t["n_train"]):
            return None
        images = int(self.last.get("images", 0))
        seconds = max(t["epochs"] * t["n_train"] - images, 0) / rate
        val_each = self.val_seconds or t["n_val"] / (FORWARD_SPEEDUP * rate)
        steps = int(self.config.get("sample_steps") or 50)
        preview_each = self.preview_seconds or PREVIEW_N * steps / (FORWARD_SPEEDUP * rate)
        epochs_left = max(t["epochs"] - self.done_epochs, 0)
        vals_left = float(epochs_left)
        p = self.phase or {}
        if p.get("phase") == "validating" and p.get("total"):
            vals_left -= min((p.get("done") or 0) / p["total"], 1.0)
        try:
            grids_left = parse_cadence(self.config.get("sample_every", "auto")).epoch_grids(epochs_left)
        except CadenceError:
            grids_left = epochs_left
        grids_left = max(grids_left, 1 if epochs_left else 0)  # the last epoch always draws one
        return seconds + vals_left * val_each + grids_left * preview_each

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
        # a run that is not training shows its last epoch's rate (training images per training second), which
        # is what export and metrics.jsonl say; while it trains, the recent steps' rate
        rate = self.images_per_s() if running else self.epoch_rate or self.images_per_s()
        return {
            "epoch": epoch,
            "epochs": total,
            "step": step,
            "steps": spe * total,
            "epoch_frac": epoch_frac,
            "run_frac": min(step / (spe * total), 1.0) if spe and total else 0.0,
            "images_per_s": rate,
            "elapsed": elapsed,
            "eta": self.eta(rate) if running else None,
            "loss": self.last_loss,
            "phase": self.phase_text(),
        }
