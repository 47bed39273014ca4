"""The dashboard's layout pinned at 80x24, 120x36 and 200x50, from a recorded run folder (half-cell images)."""

from __future__ import annotations

import pytest
from pilot_support import halfcell
from ui_recorded import record_run

from diffdash.ui.dashboard import DashboardApp
from diffdash.ui.widgets.sample_image import SampleImage


@pytest.fixture
def recorded(tmp_path):
    return record_run(tmp_path / "runs")


def app_for(run):
    return DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=60)


@pytest.mark.parametrize("size", [(80, 24), (120, 36), (200, 50)], ids=["80x24", "120x36", "200x50"])
def test_dashboard_layout(snap_compare, recorded, size):
    assert snap_compare(app_for(recorded), terminal_size=size)


def test_dashboard_linear_scale_and_older_grid(snap_compare, recorded):
    """l: linear scale; m: raw losses; v: the reconstruct variant; left: its previous epoch."""
    assert snap_compare(app_for(recorded), press=["l", "m", "v", "left"], terminal_size=(120, 36))


def test_dashboard_grid_maximized(snap_compare, recorded):
    assert snap_compare(app_for(recorded), press=["f"], terminal_size=(120, 36))


@pytest.mark.parametrize("size", [(120, 36), (200, 50)], ids=["120x36", "200x50"])
async def test_grid_uses_the_space_it_has_and_f_maximizes_it(recorded, size):
    """The grid is square: as wide as twice the rows it gets, well past the old 64-column cap at 200x50."""
    app = app_for(recorded)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.3)
        grid = app.query_one(SampleImage)
        picture = grid._picture
        normal = picture.size.width
        assert normal >= 2 * (grid.size.height - 1) - 2, "the picture is smaller than its box allows"
        if size == (200, 50):
            assert normal > 64
        await pilot.press("f")
        await pilot.pause(0.3)
        assert app.screen.maximized is grid
        assert picture.size.width > normal
        await pilot.press("f")
        await pilot.pause(0.3)
        assert app.screen.maximized is None and picture.size.width == normal
