"""The readout and the legend on the dashboard of a recorded run: they stay inside the chart's width, break
between entries (never inside one), keep the view's flags line visible, and read x in its axis's units."""

from __future__ import annotations

import pytest
from pilot_support import halfcell
from ui_recorded import record_run

from diffdash.ui.dashboard import DashboardApp
from diffdash.ui.widgets.loss_chart import LossChart, x_text


def app_for(run) -> DashboardApp:
    return DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=60)


def test_x_reads_in_its_axis_units():
    assert x_text("step", 60.85) == "61"
    assert x_text("images", 11_100.4) == "11,100"
    assert x_text("epoch", 60.853) == "60.85"


async def test_readout_at_120x36_stays_in_the_chart_and_keeps_the_flags_line(tmp_path):
    app = app_for(record_run(tmp_path / "runs"))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        chart = app.query_one(LossChart)
        await pilot.press("r", "comma", "comma")
        await pilot.pause(0.2)
        readout, flags = chart.query_one(".readout"), chart.query_one(".flags")
        assert flags.display and str(flags.render()).startswith("x epoch")  # what the view shows, still there
        assert flags.region.bottom <= chart.region.bottom and flags.region.height == 1
        assert readout.region.right <= chart.region.right  # never under the grid panel
        lines = str(readout.render()).splitlines()
        names = [s.name for s in chart.series]
        for line in lines:  # each "name value" whole on one line
            for name in names:
                if name in line:
                    assert line.split(name, 1)[1].strip()[:1].isdigit(), line
        assert lines[0].startswith("epoch ") and "." in lines[0].split()[1]  # "epoch 3.85": a clear epoch
        await pilot.press("a")  # images seen
        text = str(readout.render())
        assert text.startswith("images seen ") and "e+" not in text.split("▏")[0]
        assert "," in text.split("▏")[0]  # "images seen 11,100"
        await pilot.press("a", "a")  # step: a whole step
        head = str(readout.render()).split("▏")[0].split()
        assert head[0] == "step" and head[1].replace(",", "").isdigit()
        await pilot.press("r")
        assert not flags.display and str(readout.render()).startswith("x step")


@pytest.mark.parametrize("width", [80, 60])
async def test_legend_breaks_between_entries_on_small_terminals(tmp_path, width):
    app = app_for(record_run(tmp_path / "runs"))
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.pause(0.3)
        chart = app.query_one(LossChart)
        lines = str(chart.query_one(".legend").render()).splitlines()
        assert all(line.startswith("■ ") for line in lines), lines  # each line begins with an entry
        assert all(len(line) <= chart.size.width - 2 for line in lines), (lines, chart.size)
