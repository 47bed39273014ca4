"""`g`: the chart shows the loss, the FID of each evaluation, the gradient norm, the learning rate, CPU % or memory,
the same key in the dashboard and in compare, on a run trained today and on runs recorded before these figures were
logged (the FID view itself: test_quality_curve.py)."""

from __future__ import annotations

import shutil

import pytest
from pilot_support import halfcell, wait_for
from runs_data import recorded_runs

from diffdash.store import RunDir
from diffdash.ui.chart_views import CHART_VIEWS, EMPTY_TEXT, QUALITY_VIEWS
from diffdash.ui.compare_app import CompareApp
from diffdash.ui.dashboard import DashboardApp
from diffdash.ui.widgets.chart_keys import CHART_BINDINGS
from diffdash.ui.widgets.loss_chart import LossChart


def test_g_is_a_chart_key_of_both_apps():
    declared = {b.key: b.action for b in CHART_BINDINGS}
    assert declared["g"] == "cycle_view"
    for cls in (CompareApp, DashboardApp):
        assert [b.action for b in cls._merge_bindings().key_to_bindings["g"]] == ["cycle_view"]


def app_for(which: str, runs: list[RunDir]):
    if which == "dashboard":
        return DashboardApp(runs[0], image_mode="halfcell", image_cls=halfcell(), poll_s=60)
    return CompareApp(runs, image_mode="halfcell", image_cls=halfcell(), poll_s=60)


@pytest.mark.parametrize("which", ["dashboard", "compare"])
async def test_g_cycles_through_the_views_of_a_run_trained_today(tmp_path, sampled_run, which):
    shutil.copytree(sampled_run.path, tmp_path / "sampled")
    run = RunDir(tmp_path / "sampled")
    events = run.read_events()[0]
    grad_norms = [e["grad_norm"] for e in events if e["event"] == "step"]
    rss = [e["rss_bytes"] / 2**30 for e in events if e["event"] == "system"]
    app = app_for(which, [run])
    async with app.run_test(size=(120, 36)) as pilot:
        chart = app.query_one(LossChart)
        assert await wait_for(pilot, lambda: chart.points_drawn > 0, timeout=10)
        seen = {}
        for view in CHART_VIEWS[1:]:
            await pilot.press("g")
            assert app.chart_view == view
            seen[view] = {s.name: list(s.y) for s in chart.series}
            if view in QUALITY_VIEWS:  # this run was trained without --eval-every
                assert chart.points_drawn == 0 and chart.empty_text == EMPTY_TEXT[view]
                continue
            assert chart.points_drawn > 0 and chart.flags().startswith(chart.chart_title + " (g)")
        await pilot.press("g")
        assert app.chart_view == "loss" and not chart.flags().startswith("loss")
        assert any("train" in s.name for s in chart.series)
    prefix = "" if which == "dashboard" else "sampled "
    assert seen["grad_norm"] == {f"{prefix}grad norm": grad_norms}
    assert seen["lr"] == {f"{prefix}lr": [e["lr"] for e in events if e["event"] == "step"]}
    assert seen["memory"] == {f"{prefix}RSS": rss}
    assert list(seen["cpu"]) == [f"{prefix}CPU %"]


@pytest.mark.parametrize("which", ["dashboard", "compare"])
async def test_a_recorded_run_without_the_figures_says_so(tmp_path, which):
    runs = recorded_runs(tmp_path, ("small", "wide"))
    app = app_for(which, runs)
    async with app.run_test(size=(120, 36)) as pilot:
        chart = app.query_one(LossChart)
        assert await wait_for(pilot, lambda: chart.points_drawn > 0, timeout=10)
        loss_empty = chart.empty_text
        await pilot.press(*["g"] * CHART_VIEWS.index("grad_norm"))  # past the quality views: these runs were evaluated
        assert app.chart_view == "grad_norm" and chart.series == [] and chart.points_drawn == 0
        assert chart.empty_text == EMPTY_TEXT["grad_norm"]
        await pilot.press(*["g"] * (len(CHART_VIEWS) - CHART_VIEWS.index("grad_norm")))
        assert app.chart_view == "loss" and chart.points_drawn > 0 and chart.empty_text == loss_empty
