"""The palette's "open run in the dashboard" and back: compare returns to the tab, epoch and view it was on;
and `e` in the dashboard lists every event of metrics.jsonl. The real apps, driven with Pilot."""

from __future__ import annotations

from pilot_support import halfcell
from runs_data import recorded_runs
from textual.widgets import Log, TabbedContent
from ui_recorded import record_run

from diffdash.ui.compare_app import CompareApp
from diffdash.ui.dashboard import DashboardApp
from diffdash.ui.event_log import EventLogScreen, event_line


def compare(runs, state=None) -> CompareApp:
    return CompareApp(runs, image_mode="halfcell", image_cls=halfcell(), poll_s=60.0, state=state)


async def test_open_run_then_back_keeps_the_tab_epoch_and_view(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide", "deep"))
    app = compare(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("l", "2", "left")  # linear scale, samples tab, epoch 2
        assert app.epoch == 2
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"Open run wide")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
    assert app.opened == runs[1]
    back = compare(runs, state=app.saved)  # what run_compare starts once the dashboard is left with q
    async with back.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        assert back.query_one(TabbedContent).active == "samples"
        assert back.epoch == 2 and not back.chart.log_scale


async def test_e_lists_every_event_and_s_adds_the_step_lines(tmp_path):
    run = record_run(tmp_path / "runs")
    events, _ = run.read_events(0)
    app = DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=60)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("e")
        await pilot.pause(0.2)
        assert isinstance(app.screen, EventLogScreen)
        log = app.screen.query_one(Log)
        others = [e for e in events if e["event"] != "step"]
        assert log.line_count == len(others) and log.lines[0] == event_line(others[0])
        assert any(line.startswith("epoch ") and "val_loss=" in line for line in log.lines)
        await pilot.press("s")
        assert log.line_count == len(events)
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, EventLogScreen)
