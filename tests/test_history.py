"""The run reducer: the resume undo rule and the chart x-axis rule, each defined once and read the same by
every view (the report's curves, compare's chart, the dashboard's bounded copy)."""

from __future__ import annotations

import json

import pytest

from diffdash.compare.shared import train_curve, val_curve
from diffdash.runs.history import History, read_history
from diffdash.store import RunDir, compact_events
from diffdash.store.events import drop_undone
from diffdash.ui.compare_data import CompareRun, chart_series
from diffdash.ui.run_view import RunView

SPE = 4  # steps an epoch


def step(s: int, loss: float) -> dict:
    return {"event": "step", "epoch": 1 + (s - 1) // SPE, "step": s, "images": 8 * s, "time": 0.5 * s, "loss": loss}


def epoch(n: int, val: float) -> dict:
    s = n * SPE
    return {"event": "epoch", "epoch": n, "step": s, "images": 8 * s, "time": 0.5 * s, "train_loss": val + 0.1,
            "val_loss": val}  # fmt: skip


START = {"event": "start", "epoch": 0, "step": 0, "images": 0, "time": 0.0, "epochs": 3, "steps_per_epoch": SPE}
# Trained to step 7 (epoch 1 done, a grid and an eval at step 6), crashed; resumed from the checkpoint at step 4.
CRASHED = [
    START,
    *(step(s, 1.0 / s) for s in range(1, 5)),
    epoch(1, 0.5),
    *(step(s, 1.0 / s) for s in range(5, 8)),
    {"event": "sample", "epoch": 2, "step": 6, "path": "samples/epoch_0002_step_000006.png"},
    {"event": "eval", "epoch": 2, "step": 6, "fid": 9.0},
    {"event": "resumed", "epoch": 2, "step": 4, "images": 32, "time": 2.0, "epochs": 3, "steps_per_epoch": SPE},
    *(step(s, 2.0 / s) for s in range(5, 9)),
    epoch(2, 0.4),
]


@pytest.mark.parametrize("cap", [None, 64])  # a finished run read whole; the dashboard's bounded copy
def test_a_resume_undoes_what_was_logged_after_its_checkpoint(cap):
    h = History(step_cap=cap)
    for e in CRASHED:
        h.apply(e)
    assert h.step == [1, 2, 3, 4, 5, 6, 7, 8]  # steps 5..7 once, as redone, not twice
    assert h.step_loss[4:] == [2.0 / 5, 2.0 / 6, 2.0 / 7, 2.0 / 8]
    assert h.epoch == [1, 2] and h.samples == [] and h.evals == []
    assert h.start["steps_per_epoch"] == SPE and h.start["step"] == 4


def test_the_file_compacted_on_resume_and_the_raw_file_reduce_alike(tmp_path):
    raw = RunDir.create(tmp_path, "raw")
    raw.append_events(CRASHED)
    compacted = RunDir.create(tmp_path, "compacted")
    marker = CRASHED.index(next(e for e in CRASHED if e["event"] == "resumed"))
    compacted.append_events(CRASHED[:marker])
    assert compact_events(compacted, 4, marker=CRASHED[marker]) == 5  # steps 5..7, the grid and the eval
    compacted.append_events(CRASHED[marker + 1 :])
    lines = [json.loads(x) for x in compacted.metrics_path.read_text().splitlines()]
    assert lines == drop_undone(CRASHED)
    a, b = read_history(raw), read_history(compacted)
    assert (a.step, a.step_loss, a.epoch) == (b.step, b.step_loss, b.epoch)


def test_every_view_puts_a_step_at_the_same_x(tmp_path):
    """Step s sits at epoch s / steps-per-epoch, at the images and time it logged; an epoch at its number."""
    run = RunDir.create(tmp_path, "run")
    run.append_events(CRASHED)
    h = read_history(run)
    x, _ = h.step_x()
    assert x["epoch"] == [s / SPE for s in range(1, 9)]
    assert x["images"] == [8 * s for s in range(1, 9)] and x["time"] == [0.5 * s for s in range(1, 9)]
    assert h.epoch_x()["epoch"] == [1.0, 2.0] and h.epoch_x()["images"] == [32.0, 64.0]

    view = RunView()
    for e in CRASHED:
        view.apply(e)
    dash_train, _, dash_val = view.chart_series()
    compare = CompareRun(run, 0)
    compare.poll()
    compare_train, compare_val = chart_series([compare])
    for axis in ("epoch", "images", "time"):
        report = train_curve(h, axis, None).x
        assert list(dash_train.x[axis]) == list(compare_train.x[axis]) == report == x[axis], axis
        assert list(dash_val.x[axis]) == list(compare_val.x[axis]) == val_curve(h, axis).x, axis
