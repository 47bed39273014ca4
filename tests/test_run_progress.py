"""What every view says about a run's progress: training rate, ticking clock, ETA with validation and previews."""

from __future__ import annotations

import pytest

from diffdash.runs.progress import RunProgress, totals_from_config

CONFIG = {"epochs": 2, "batch_size": 10, "dataset": "mnist-small", "train_limit": 100, "val_limit": 50}


def start(p: RunProgress) -> None:
    p.apply({"event": "start", "epoch": 1, "step": 0, "images": 0, "time": 0.0, "epochs": 2, "steps_per_epoch": 10,
             "n_train": 100, "n_val": 50}, now=0.0)  # fmt: skip


def steps(p: RunProgress, first: int, last: int, t0: float, per_step: float = 1.0) -> float:
    """Steps first..last, one every `per_step` seconds (10 images each: 10 img/s at 1 s)."""
    t = t0
    for s in range(first, last + 1):
        t += per_step
        p.apply({"event": "step", "epoch": 1 + (s - 1) // 10, "step": s, "images": 10 * s, "time": t, "loss": 0.5},
                now=t)  # fmt: skip
    return t


def test_totals_come_from_the_config_before_any_event():
    assert totals_from_config(CONFIG) == {"epochs": 2, "steps_per_epoch": 10, "n_train": 100, "n_val": 50}
    full = totals_from_config({"epochs": 20, "batch_size": 128, "dataset": "mnist"})
    assert full == {"epochs": 20, "steps_per_epoch": 469, "n_train": 60_000, "n_val": 10_000}
    p = RunProgress(CONFIG)
    p.phase = {"phase": "loading data", "done": None, "total": None}
    f = p.figures(now=1.0, running=True)
    assert (f["epochs"], f["steps"], f["phase"]) == (2, 20, "loading the bundled MNIST subset …")


def test_rate_is_training_images_per_training_second_across_a_long_validation():
    p = RunProgress(CONFIG)
    start(p)
    t = steps(p, 1, 10, 0.0)  # 10 img/s
    for done in range(0, 50, 10):  # a 60 s validation, reported as it goes
        t += 12.0
        p.apply({"event": "progress", "phase": "validating", "done": done, "total": 50, "epoch": 1, "step": 10,
                 "images": 100, "time": t}, now=t)  # fmt: skip
        assert p.figures(now=t)["phase"] == f"validating {done}/50"
    p.apply({"event": "epoch", "epoch": 1, "step": 10, "images": 100, "time": t, "train_loss": 0.5, "val_loss": 0.4,
             "seconds": 10.0, "images_per_s": 10.0, "val_seconds": 60.0}, now=t)  # fmt: skip
    assert p.images_per_s() == pytest.approx(10.0)
    t = steps(p, 11, 13, t)
    f = p.figures(now=t)
    assert f["images_per_s"] == pytest.approx(10.0), "the validation's minute diluted the rate"
    assert f["phase"] is None


def test_clock_ticks_between_events_and_stops_when_not_running():
    p = RunProgress(CONFIG)
    start(p)
    t = steps(p, 1, 3, 0.0)
    assert p.figures(now=t + 30)["elapsed"] == pytest.approx(t + 30)
    assert p.figures(now=t + 30, running=False)["elapsed"] == pytest.approx(t)


def test_eta_includes_the_validations_and_previews_ahead():
    measured = RunProgress(CONFIG)
    start(measured)
    t = steps(measured, 1, 10, 0.0)
    measured.apply({"event": "epoch", "epoch": 1, "step": 10, "images": 100, "time": t, "train_loss": 0.5,
                    "val_loss": 0.4, "seconds": 10.0, "images_per_s": 10.0, "val_seconds": 60.0}, now=t)  # fmt: skip
    measured.apply({"event": "sample", "epoch": 1, "step": 10, "images": 100, "time": t + 60, "seconds": 12.0},
                   now=t + 60)  # fmt: skip
    t = steps(measured, 11, 12, t + 60)
    eta = measured.figures(now=t)["eta"]
    # 80 images at 10 img/s, one more validation (60 s) and the last epoch's grid (12 s)
    assert eta == pytest.approx(8.0 + 60.0 + 12.0)
    # before anything is measured the validation and preview are estimated, never left out
    fresh = RunProgress(CONFIG)
    start(fresh)
    t = steps(fresh, 1, 2, 0.0)
    assert fresh.figures(now=t)["eta"] > 180 / 10.0


def test_a_run_that_is_not_training_shows_its_last_epochs_rate():
    """After the run, the figure is the epoch's own (what export says), not the last few steps' window."""
    p = RunProgress(CONFIG)
    start(p)
    t = steps(p, 1, 8, 0.0)  # 10 img/s
    t = steps(p, 9, 10, t, per_step=4.0)  # the last steps slowed down (another job on the machine)
    p.apply({"event": "epoch", "epoch": 1, "step": 10, "images": 100, "time": t, "train_loss": 0.5, "val_loss": 0.4,
             "seconds": 16.0, "images_per_s": 6.25}, now=t)  # fmt: skip
    assert p.figures(now=t, running=False)["images_per_s"] == 6.25
    assert p.figures(now=t, running=True)["images_per_s"] != 6.25, "while training: the recent steps"


def test_a_progress_event_without_a_phase_ends_the_phase():
    """The workers' dashboard follows status.json and says "phase over" as a progress event with no phase."""
    p = RunProgress(CONFIG)
    start(p)
    t = steps(p, 1, 10, 0.0)
    p.apply({"event": "progress", "phase": "validating", "done": 20, "total": 50}, now=t)
    assert p.figures(now=t, running=True)["phase"] == "validating 20/50"
    p.apply({"event": "progress", "phase": None, "done": None, "total": None}, now=t + 1)
    assert p.figures(now=t + 1, running=True)["phase"] is None
