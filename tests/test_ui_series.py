"""Chart data: bounded history, smoothing, non-finite filtering, hand-made log scale and ticks."""

from __future__ import annotations

import math

from diffdash.ui.run_view import RunView
from diffdash.ui.widgets.loss_chart import LossChart
from diffdash.ui.widgets.series import (
    Series,
    ThinSeries,
    faint,
    finite_pairs,
    linear_ticks,
    log_ticks,
    nearest,
    rgb,
    thin,
)


def test_thin_series_stays_bounded_and_spans_the_run():
    s = ThinSeries(cap=64)
    for i in range(1, 100_001):
        s.add({"step": i, "images": 128 * i, "time": i / 10}, 1.0 / i)
    assert len(s) < 64
    cols, y = s.view()
    assert len(y) <= 64 and cols["step"][0] < 2000 and cols["step"][-1] > 99_000
    assert all(a < b for a, b in zip(cols["step"], cols["step"][1:], strict=False))
    assert y[0] > y[-1] > 0


def test_thin_series_skips_non_finite_and_drops_after_resume():
    s = ThinSeries(cap=16)
    for i in range(1, 11):
        s.add({"step": i}, float("nan") if i == 5 else float(i))
    assert 5 not in s.cols["step"] and len(s) == 9
    s.keep_where(lambda xs: xs["step"] <= 6)
    assert s.cols["step"] == [1, 2, 3, 4, 6]


def test_filters_smoothing_and_thinning():
    assert finite_pairs([1, 2, 3, 4, None], [1.0, math.inf, math.nan, 2.0, 3.0]) == ([1.0, 4.0], [1.0, 2.0])
    x, y = thin(list(range(1000)), [float(v) for v in range(1000)], 100)
    assert len(x) == 100 and y[0] == 4.5 and y[-1] == 994.5


def test_log_ticks_are_real_values_and_distinct():
    ticks, labels = log_ticks(math.log10(0.02), math.log10(1.2))
    assert labels == ["0.05", "0.1", "0.5", "1"]
    ticks, labels = log_ticks(math.log10(0.97), math.log10(1.1))
    assert len(set(labels)) == len(labels) >= 2
    assert linear_ticks(1, 120, n=4, integer=True)[1] == ["25", "50", "75", "100"]
    assert linear_ticks(1, 12, n=4, integer=True)[1] == ["5", "10"]  # never 2.5 steps
    assert linear_ticks(0, 2_000_000, n=4)[1][-1] == "2M"


async def test_chart_survives_nan_inf_zero_and_log_scale():
    """plotext 5 crashes on inf/nan and on its own log scale: none of that may reach it."""
    from textual.app import App

    class ChartApp(App):
        def compose(self):
            yield LossChart("t")

    app = ChartApp()
    async with app.run_test(size=(60, 20)) as pilot:
        chart = app.query_one(LossChart)
        chart.smoothing = False
        ys = [1.0, math.nan, 0.5, math.inf, 0.0, -1.0, 0.25, 0.2]
        chart.set_series([Series("a", {"step": list(range(8))}, ys), Series("b", {"step": [3]}, [0.3])])
        await pilot.pause()
        assert chart.points_drawn == 4 + 1  # log scale drops 0 and -1 as well as nan and inf
        chart.log_scale = False
        await pilot.pause()
        assert chart.points_drawn == 6 + 1
        chart.smoothing = True
        await pilot.pause()
        assert chart.points_drawn == 6 + 1
        chart.set_series([Series("empty", {"step": []}, [])])
        await pilot.pause()
        assert chart.points_drawn == 0


def test_run_view_progress_and_resume():
    v = RunView()
    v.apply(
        {
            "event": "start",
            "epoch": 1,
            "step": 0,
            "images": 0,
            "time": 0.0,
            "epochs": 2,
            "steps_per_epoch": 10,
            "n_train": 100,
        }
    )
    for i in range(1, 16):
        v.apply(
            {"event": "step", "epoch": 1 + (i - 1) // 10, "step": i, "images": 10 * i, "time": i * 0.5, "loss": 1.0 / i}
        )
        if i == 10:
            v.apply(
                {
                    "event": "epoch",
                    "epoch": 1,
                    "step": 10,
                    "images": 100,
                    "time": 5.0,
                    "train_loss": 0.3,
                    "val_loss": 0.2,
                    "images_per_s": 20.0,
                }
            )
    p = v.progress()
    assert p["epoch"] == 2 and p["epoch_frac"] == 0.5 and p["step"] == 15 and p["steps"] == 20
    assert math.isclose(p["run_frac"], p["elapsed"] / (p["elapsed"] + p["eta"]))  # by time: it moves in validation too
    assert p["images_per_s"] == 20.0 and p["eta"] > 50 / 20.0  # training left, plus the last preview
    assert v.progress(running=False)["eta"] is None
    v.apply(
        {
            "event": "resumed",
            "epoch": 2,
            "step": 10,
            "images": 100,
            "time": 5.0,
            "epochs": 2,
            "steps_per_epoch": 10,
            "n_train": 100,
        }
    )
    assert max(v.steps.cols["step"]) == 10 and len(v.epochs) == 1 and v.state == "running"
    changed = v.apply(
        {
            "event": "failed",
            "epoch": 2,
            "step": 12,
            "images": 120,
            "time": 6.0,
            "error": "loss became nan at step 12 (epoch 2)",
        }
    )
    assert v.state == "failed" and v.error == "loss became nan at step 12 (epoch 2)"
    assert {"state", "notice"} <= changed  # the dashboard's event line says it


def test_colours_faint_shade_and_nearest_point():
    assert rgb("#1f77b4") == (31, 119, 180) and rgb((1, 2, 3)) == (1, 2, 3) and rgb("cyan") == (0, 200, 200)
    shade = faint("#ff7f0e")
    assert all(40 <= c < v for c, v in zip(shade, rgb("#ff7f0e"), strict=True) if v > 40)  # dimmer, same hue order
    assert shade[0] > shade[1] > shade[2]
    assert nearest([0.0, 1.0, 2.0], 1.4) == 1 and nearest([0.0, 1.0, 2.0], 9) == 2 and nearest([], 1) is None
