"""The chart keys both apps share (declared once in ChartApp), the readout, the x window, smoothing drawn
over the faint raw curve, the command palette, and compare's hide/show and `/` filter, on recorded runs."""

from __future__ import annotations

import pytest
from pilot_support import halfcell, wait_for
from runs_data import recorded_runs

from diffdash.runs.history import read_history
from diffdash.store.tags import add_tags
from diffdash.ui.chart_views import CHART_VIEWS
from diffdash.ui.compare_app import CompareApp
from diffdash.ui.compare_panels import SummaryTable
from diffdash.ui.dashboard import DashboardApp
from diffdash.ui.widgets.chart_keys import CHART_BINDINGS, ChartApp
from diffdash.ui.widgets.loss_chart import AXIS_LABELS, LossChart

CHART_KEYS = ["t", "l", "m", "left_square_bracket", "right_square_bracket", "a", "r", "comma", "full_stop",
              "plus", "minus", "0"]  # fmt: skip


def compare_app(runs) -> CompareApp:
    return CompareApp(runs, image_mode="halfcell", image_cls=halfcell(), poll_s=60)


def dashboard_app(run) -> DashboardApp:
    return DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=60)


def test_chart_keys_mean_the_same_in_both_apps():
    def actions(cls):
        merged = cls._merge_bindings().key_to_bindings
        return {key: [b.action for b in merged[key]] for key in CHART_KEYS}

    declared = {b.key.split(",")[0]: b.action for b in CHART_BINDINGS}
    assert actions(CompareApp) == actions(DashboardApp)
    assert actions(CompareApp) == {k: [declared[k]] for k in CHART_KEYS}


@pytest.mark.parametrize("which", ["dashboard", "compare"])
async def test_same_keys_same_effect(tmp_path, which):
    """m, [, ], t, l, a, + and r do the same to the chart in the dashboard (watch) and in compare."""
    runs = recorded_runs(tmp_path, ("small", "wide"))
    app = dashboard_app(runs[0]) if which == "dashboard" else compare_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        chart = app.query_one(LossChart)
        assert await wait_for(pilot, lambda: chart.points_drawn > 0, timeout=10)
        assert (chart.x_axis, chart.smoothing, chart.strength, chart.log_scale) == ("epoch", True, 0.9, True)
        await pilot.press("m")
        assert not chart.smoothing
        await pilot.press("right_square_bracket")
        assert chart.smoothing and chart.strength == 0.95
        await pilot.press("t")
        assert {s.kind for s, _, _ in chart.prepared()} == {"train"}
        await pilot.press("t")
        assert {s.kind for s, _, _ in chart.prepared()} == {"val"}
        await pilot.press("t", "l", "a")
        assert not chart.log_scale and chart.x_axis == "images"
        await pilot.press("plus", "r")
        assert chart.zoom == 0.5 and chart.cursor == 1.0


def chart_state(chart: LossChart) -> dict[str, object]:
    names = ("show", "log_scale", "smoothing", "strength", "x_axis", "zoom", "cursor", "chart_title")
    return {name: getattr(chart, name) for name in names}


@pytest.mark.parametrize("which", ["dashboard", "compare"])
async def test_every_chart_key_works_through_the_shared_owner(tmp_path, which):
    """Each key of CHART_BINDINGS, pressed in turn, changes the chart exactly as its ChartApp action says."""
    for b in CHART_BINDINGS:  # neither app overrides a chart action: the one owner is ChartApp
        name = "action_" + b.action.split("(")[0]
        assert getattr(CompareApp, name) is getattr(ChartApp, name) is getattr(DashboardApp, name)
    runs = recorded_runs(tmp_path, ("small", "wide"))
    app = dashboard_app(runs[0]) if which == "dashboard" else compare_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        chart = app.query_one(LossChart)
        assert await wait_for(pilot, lambda: chart.points_drawn > 0, timeout=10)
        axes = chart.axes()
        next_axis = axes[(axes.index("epoch") + 1) % len(axes)]
        assert len(axes) > 1 and next_axis != "epoch"
        steps = [
            ("t", {"show": "train"}),
            ("l", {"log_scale": False}),
            ("m", {"smoothing": False}),
            ("left_square_bracket", {"smoothing": True, "strength": 0.8}),
            ("right_square_bracket", {"strength": 0.9}),
            ("a", {"x_axis": next_axis}),
            ("r", {"cursor": 1.0}),
            ("comma", {"cursor": pytest.approx(1 - 1 / 40)}),
            ("full_stop", {"cursor": pytest.approx(1.0)}),
            ("plus", {"zoom": 0.5}),
            ("equals_sign", {"zoom": 0.25}),
            ("minus", {"zoom": 0.5}),
            ("0", {"zoom": 1.0}),
            ("g", {"chart_title": "FID (MNIST classifier)"}),
        ]
        pressed = {key for key, _ in steps}
        assert pressed == {k for b in CHART_BINDINGS for k in b.key.split(",")}, "a chart key is not tried"
        for key, change in steps:
            before = chart_state(chart)
            await pilot.press(key)
            after = chart_state(chart)
            assert after == {**before, **change}, key
        await pilot.press(*["g"] * (len(CHART_VIEWS) - 1))  # `g` went on to the FID view: on round to the loss
        assert str(chart.query_one(".readout").render()).startswith(AXIS_LABELS[next_axis])  # redrawn, cursor on


async def test_smoothing_keeps_the_raw_curve_faint_and_says_its_strength(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide"))
    app = compare_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        chart = app.query_one(LossChart)
        raw = read_history(runs[0]).step_loss
        small_train = [ln for ln in chart.lines if ln.series.name == "small train"]
        assert [ln.faint for ln in small_train] == [True, False]  # raw under, smoothed over
        assert small_train[0].real_y == raw and small_train[1].real_y != raw
        assert small_train[0].series.color == small_train[1].series.color  # faint is drawn as a dimmer shade
        legend = str(chart.query_one(".legend").render())
        assert "EMA 0.9, raw faint" in legend and "small" in legend and "val" in legend
        await pilot.press("right_square_bracket")
        assert "EMA 0.95" in str(chart.query_one(".legend").render())
        await pilot.press("m")
        assert not any(ln.faint for ln in chart.lines)
        assert "EMA" not in str(chart.query_one(".legend").render())


async def test_readout_shows_every_curve_at_the_cursor(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide", "deep"))
    app = compare_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        chart = app.query_one(LossChart)
        await pilot.press("m", "r")  # raw values, cursor at the newest end
        values = chart.values_at_cursor()
        histories = [read_history(r) for r in runs]
        assert set(values) == {f"{n} {k}" for n in ("small", "wide", "deep") for k in ("train", "val")}
        for name, h in zip(("small", "wide", "deep"), histories, strict=True):
            assert values[f"{name} val"] == pytest.approx(h.val_loss[-1])
            assert values[f"{name} train"] == pytest.approx(h.step_loss[-1])
        text = str(chart.query_one(".readout").render())
        assert text.startswith("epoch 3") and f"{histories[1].val_loss[-1]:.4g}" in text
        await pilot.press("comma", "comma")
        assert chart.cursor == pytest.approx(1 - 2 / 40)
        chart.cursor = 0.01
        await pilot.press("comma")  # past the left end: stops at the first point
        assert chart.cursor == 0.0
        values = chart.values_at_cursor()
        assert values["small val"] == pytest.approx(histories[0].val_loss[0])
        assert values["small train"] == pytest.approx(histories[0].step_loss[0])
        await pilot.press("full_stop")
        assert chart.cursor == pytest.approx(1 / 40)
        await pilot.press("r")
        assert chart.cursor is None and "x epoch" in str(chart.query_one(".readout").render())


async def test_zoom_narrows_to_the_newest_part_and_back(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide"))
    app = compare_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        chart = app.query_one(LossChart)
        await pilot.press("m")
        lo, hi = chart.window
        full = chart.points_drawn
        await pilot.press("plus")
        assert chart.window == pytest.approx((hi - (hi - lo) / 2, hi))
        assert 0 < chart.points_drawn < full
        assert all(min(x) >= chart.window[0] for _, x, _ in chart.prepared())
        assert "last 1.47 epochs" in str(chart.query_one(".readout").render())
        await pilot.press("plus", "plus")
        assert chart.zoom == 0.125
        await pilot.press("minus")
        assert chart.zoom == 0.25
        await pilot.press("0")
        assert chart.zoom == 1.0 and chart.window == (lo, hi) and chart.points_drawn == full


async def test_hide_and_show_runs(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide", "deep"))
    app = compare_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        chart = app.query_one(LossChart)
        await pilot.press("h")
        await pilot.press("space")  # the first run in the picker: small
        assert [s.group for s in chart.series][::2] == ["wide MSE(ε)", "deep MSE(ε)"]
        assert app.query_one(SummaryTable).row_count == 2
        assert not app.query_one("#grid-0").display
        await pilot.press("escape")
        assert "1 of 3 hidden" in str(app.query_one("#title").render())
        await pilot.press("h", "space", "escape")
        assert [s.group for s in chart.series][::2] == ["small MSE(ε)", "wide MSE(ε)", "deep MSE(ε)"]


@pytest.mark.slow
async def test_slash_filters_by_name_or_tag(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide", "deep"))
    add_tags(runs[0], ["baseline"])
    add_tags(runs[2], ["baseline", "deeper"])
    app = compare_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        chart = app.query_one(LossChart)

        def groups():
            return sorted({s.group.split()[0] for s in chart.series})  # groups: "small MSE(ε)"

        await pilot.press("slash", *"wid")
        assert groups() == ["wide"]
        await pilot.press("escape")  # clears the filter
        assert groups() == ["deep", "small", "wide"] and app.focused is not app.query_one("#filter")
        await pilot.press("slash", *"base", "enter")  # a tag; enter keeps the filter and gives the keys back
        assert groups() == ["deep", "small"]
        assert "filter: base" in str(app.query_one("#title").render())
        row = [str(c) for c in app.query_one(SummaryTable).get_row_at(0)]
        assert row[0] == "■ small" and row[8] == "#baseline"
        await pilot.press("l")  # keys are commands again once the filter is kept
        assert not chart.log_scale


@pytest.mark.slow
async def test_palette_offers_the_apps_own_commands(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide"))
    app = compare_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        chart = app.query_one(LossChart)
        assert chart.log_scale
        await pilot.press("ctrl+p", *"log scale")
        from textual.command import CommandList

        options = app.screen.query_one(CommandList)

        def first() -> str:
            return str(options.get_option_at_index(0).prompt) if options.option_count else ""

        assert await wait_for(pilot, lambda: "Loss chart: log / linear scale" in first(), timeout=5), first()
        assert "key l" in first()
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: not chart.log_scale, timeout=5)
        assert app.query_text == "" and all(r.shown for r in app.runs)  # palette typing is not the run filter
        await pilot.press("ctrl+p", *"hide run wide")
        assert await wait_for(pilot, lambda: "Hide run wide" in first_of(app), timeout=5)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: app.runs[1].hidden, timeout=5)
        await pilot.press("ctrl+p", *"open run small")
        assert await wait_for(pilot, lambda: "Open run small in the dashboard" in first_of(app), timeout=5)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: app.opened is not None, timeout=5)
    assert app.opened.id == "small"  # run_compare shows its dashboard, then compare again


def first_of(app) -> str:
    from textual.command import CommandList

    options = app.screen.query(CommandList)
    return str(options.first().get_option_at_index(0).prompt) if options and options.first().option_count else ""
