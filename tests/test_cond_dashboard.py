"""The dashboard and compare draw a class-conditional run's preview (10 rows, one per digit, of 4) in its own
shape: taller than wide, every digit shown, not squeezed into the square a 4x4 grid fills."""

from __future__ import annotations

import pytest
from pilot_support import halfcell
from ui_recorded import record_run

from diffdash.ui.widgets.sample_image import SampleImage

PER_DIGIT = 4


def one_row_per_digit(run) -> None:
    """Replace the recorded run's grids with real bundled digits, PER_DIGIT of each, one row per digit."""
    import numpy as np

    from diffdash.mnist.grids import save_grid
    from diffdash.mnist.load import load_bundled, to_tensor

    data = load_bundled()
    picks = np.concatenate([np.flatnonzero(data.test_labels == d)[:PER_DIGIT] for d in range(10)])
    images = to_tensor(data.test_images[picks])
    for path in run.samples_dir.glob("epoch_*.png"):
        save_grid(images, path, nrow=PER_DIGIT)
    run.write_config({**run.read_config(), "cond": "class", "cond_drop": 0.1, "guidance": 2.0})


def assert_drawn_in_its_own_shape(grid: SampleImage) -> None:
    width, height = grid._full.size
    assert (width, height) == (PER_DIGIT * 30 + 2, 10 * 30 + 2)
    cols, rows = grid._picture.styles.width.value, grid._picture.styles.height.value
    assert rows <= grid.size.height - 1 and cols <= grid.size.width, "fits its box"
    assert 2 * rows / cols == pytest.approx(height / width, rel=0.1), "a cell is 1x2 pixels: the grid's own shape"
    assert not grid.cropped


@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
async def test_the_dashboard_draws_the_one_row_per_digit_preview_in_its_shape(tmp_path, size):
    from diffdash.ui.dashboard import DashboardApp

    run = record_run(tmp_path / "runs")
    one_row_per_digit(run)
    app = DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=60)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.3)
        grid = app.query_one(SampleImage)
        assert grid.path is not None and grid.path.name.startswith("epoch_")
        assert_drawn_in_its_own_shape(grid)
        normal = grid._picture.styles.height.value
        await pilot.press("f")
        await pilot.pause(0.3)
        assert_drawn_in_its_own_shape(grid)
        assert grid._picture.styles.height.value > normal, "f gives the tall grid the whole screen's rows"


async def test_compare_shows_conditional_previews_side_by_side(tmp_path):
    from diffdash.ui.compare_app import CompareApp

    runs = [record_run(tmp_path / "runs", f"20261128-12000{i}-ddpm-abc{i}") for i in range(2)]
    for run in runs:
        one_row_per_digit(run)
    app = CompareApp(runs, image_mode="halfcell", image_cls=halfcell(), poll_s=60)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("2")  # the samples tab
        await pilot.pause(0.3)
        grids = [g for g in app.query(SampleImage) if g.path is not None]
        assert len(grids) == 2, [g.path for g in app.query(SampleImage)]
        for grid in grids:
            assert_drawn_in_its_own_shape(grid)
