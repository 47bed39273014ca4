"""`diffdash compare` driven with Pilot on recorded real runs (tests/data/compare_runs), including a live one."""

from __future__ import annotations

import json
import shutil

import pytest
from runs_data import RECORDED, recorded_runs, running_status

from diffdash.comparison import config_diff, debiased_ema, hex_to_rgb, run_colour
from diffdash.history import read_history
from diffdash.ui.compare_app import CompareApp
from diffdash.ui.compare_panels import ConfigDiffTable, GridRow, SummaryTable
from diffdash.ui.widgets.loss_chart import LossChart


def halfcell():
    from textual_image.widget import HalfcellImage

    return HalfcellImage


def make_app(runs, poll_s: float = 60.0) -> CompareApp:
    return CompareApp(runs, image_mode="halfcell", image_cls=halfcell(), poll_s=poll_s)


def grid_epochs(app) -> list[str]:
    return [img.path.name if img.path else None for img in app.query_one(GridRow).images]


def test_debiased_ema():
    assert debiased_ema([2.0, 2.0, 2.0], 0.9) == pytest.approx([2.0, 2.0, 2.0])  # no pull towards 0
    assert debiased_ema([1.0, 3.0], 0.0) == [1.0, 3.0]
    smoothed = debiased_ema([1.0, float("nan"), 3.0], 0.5)
    assert smoothed[1] is None and smoothed[2] == pytest.approx((0.25 * 1 + 0.5 * 3) / 0.75)
    with pytest.raises(ValueError, match="smoothing strength"):
        debiased_ema([1.0], 1.0)


def test_config_diff_only_differences():
    a = {"n_hidden": [4, 8], "lr": 1e-3, "parameters": 10, "data": {"name": "m", "n": 1}, "name": "a"}
    b = {"n_hidden": [4, 8, 8], "lr": 1e-3, "parameters": 12, "data": {"name": "m", "n": 2}, "name": "b"}
    assert config_diff([a, b]) == [("n_hidden", [[4, 8], [4, 8, 8]]), ("parameters", [10, 12]), ("data.n", [1, 2])]


async def test_two_runs_overview(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide"))
    app = make_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        chart = app.query_one(LossChart)
        assert [s.name for s in chart.series] == ["small train", "small val", "wide train", "wide val"]
        assert [s.color for s in chart.series[::2]] == [hex_to_rgb(run_colour(0)), hex_to_rgb(run_colour(1))]
        summary = app.query_one(SummaryTable)
        assert summary.row_count == 2
        first = [str(c) for c in summary.get_row_at(0)]
        best = read_history(runs[0]).best_val
        assert f"{best[0]:.5f} @{best[1]}" in first and "finished" in first
        assert any("@3" in c and "." in c for c in first[6:7])  # FID of the eval at epoch 3
        diff = app.query_one(ConfigDiffTable)
        keys = [str(diff.get_row_at(i)[0]) for i in range(diff.row_count)]
        assert "n_hidden" in keys and "parameters" in keys and "lr" not in keys
        assert app.epoch == 3 and grid_epochs(app) == ["epoch_0003.png", "epoch_0003.png"]


async def test_keys_switch_views(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide"))
    app = make_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        chart = app.query_one(LossChart)
        await pilot.press("t")
        assert [s.name for s in chart.series] == ["small train", "wide train"]
        await pilot.press("t")
        assert [s.name for s in chart.series] == ["small val", "wide val"]
        await pilot.press("t")
        assert len(chart.series) == 4
        assert chart.log_scale
        await pilot.press("l")
        assert not chart.log_scale
        smoothed = chart.prepared()[0][2]
        await pilot.press("m")
        assert not chart.smoothing
        raw = chart.prepared()[0][2]
        assert raw == read_history(runs[0]).step_loss and smoothed != raw
        assert smoothed[0] == raw[0]  # debiased: the first point is not pulled towards zero
        await pilot.press("m", "right_square_bracket")
        assert app.strength == 0.95 and chart.alpha == pytest.approx(0.05)
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.strength == 0.8
        assert chart.x_axis == "epoch"
        await pilot.press("a")
        assert chart.x_axis == "images"
        images = read_history(runs[0]).epoch_images[-1]
        assert max(max(x) for _, x, _ in chart.prepared()) == pytest.approx(images)
        await pilot.press("a")
        assert chart.x_axis == "time"
        await pilot.press("a")
        assert chart.x_axis == "epoch"


async def test_scrubber_moves_every_grid(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide", "deep"))
    app = make_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("2", "left")
        assert app.epoch == 2 and grid_epochs(app) == ["epoch_0002.png"] * 3
        await pilot.press("left", "left")
        assert app.epoch == 1 and grid_epochs(app) == ["epoch_0001.png"] * 3
        await pilot.press("end")
        assert app.epoch == 3
        await pilot.press("right")
        assert app.epoch == 3
        await pilot.press("home")
        assert app.epoch == 1
        captions = [str(img._caption.render()) for img in app.query_one(GridRow).images]
        assert captions[0].startswith("small · epoch 1 · val ") and "FID" in captions[0]
        assert "FID" not in captions[2]  # deep has no eval events


async def test_live_run_refreshes(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "deep"))
    live = runs[1]
    lines = live.metrics_path.read_text().splitlines(keepends=True)
    cut = max(i for i, line in enumerate(lines) if json.loads(line).get("event") == "epoch" and '"epoch":2' in line)
    live.metrics_path.write_text("".join(lines[: cut + 1]))
    (live.samples_dir / "epoch_0003.png").unlink()
    status = json.loads(live.status_path.read_text())
    live.write_status({**status, **running_status(), "epoch": 2})
    app = make_app(runs, poll_s=0.2)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.epochs == [1, 2, 3] and app.epoch == 3
        assert grid_epochs(app) == ["epoch_0003.png", "epoch_0002.png"]
        assert "running" in [str(c) for c in app.query_one(SummaryTable).get_row_at(1)]
        assert read_history(live).epoch == [1, 2]
        # the run goes on: epoch 3 and its grid arrive
        with open(live.metrics_path, "a") as f:
            f.write("".join(lines[cut + 1 :]))
        shutil.copy(RECORDED / "deep" / "samples" / "epoch_0003.png", live.samples_dir / "epoch_0003.png")
        live.write_status({**status, "state": "finished"})
        for _ in range(50):
            await pilot.pause(0.1)
            if app.runs[1].history.epoch == [1, 2, 3]:
                break
        await pilot.pause(0.5)
        assert app.runs[1].history.epoch == [1, 2, 3]
        assert grid_epochs(app) == ["epoch_0003.png", "epoch_0003.png"]
        row = [str(c) for c in app.query_one(SummaryTable).get_row_at(1)]
        assert "finished" in row and "3/3" in row


@pytest.mark.parametrize("names", [("small", "wide"), ("small", "wide", "deep")], ids=["two", "three"])
def test_snapshot_curves(snap_compare, tmp_path, names):
    runs = recorded_runs(tmp_path, names)
    assert snap_compare(make_app(runs), terminal_size=(120, 36))


@pytest.mark.parametrize("names", [("small", "wide"), ("small", "wide", "deep")], ids=["two", "three"])
def test_snapshot_samples_at_epoch_2(snap_compare, tmp_path, names):
    runs = recorded_runs(tmp_path, names)
    assert snap_compare(make_app(runs), press=["2", "left"], terminal_size=(120, 36))


def test_snapshot_train_only_linear_by_images(snap_compare, tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide", "deep"))
    assert snap_compare(make_app(runs), press=["t", "l", "a"], terminal_size=(120, 36))


@pytest.mark.parametrize(
    "args, message",
    [(["small"], "give at least 2 runs"), (["small", "nope"], "no run matches 'nope'"), (["1", "small"], "same run")],
)
def test_compare_bad_runs_exit_2_before_the_app_starts(tmp_path, monkeypatch, args, message):
    from click.testing import CliRunner

    from diffdash.cli import cli

    recorded_runs(tmp_path / "runs", ("small", "wide"))
    monkeypatch.setenv("DIFFDASH_RUNS", str(tmp_path / "runs"))
    result = CliRunner().invoke(cli, ["compare", *args])
    assert result.exit_code == 2 and message in result.output
