"""The dashboard's layout pinned at 80x24 and 120x36, from a recorded run folder (half-cell images)."""

from __future__ import annotations

import pytest
from ui_recorded import record_run

from diffdash.ui.dashboard import DashboardApp


@pytest.fixture
def recorded(tmp_path):
    return record_run(tmp_path / "runs")


def app_for(run):
    from textual_image.widget import HalfcellImage

    return DashboardApp(run, image_mode="halfcell", image_cls=HalfcellImage, poll_s=60)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_dashboard_layout(snap_compare, recorded, size):
    assert snap_compare(app_for(recorded), terminal_size=size)


def test_dashboard_linear_scale_and_older_grid(snap_compare, recorded):
    """l: linear scale; m: raw losses; v: the reconstruct variant; left: its previous epoch."""
    assert snap_compare(app_for(recorded), press=["l", "m", "v", "left"], terminal_size=(120, 36))
