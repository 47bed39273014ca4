"""`diffdash compare` driven with Pilot on recorded real runs (tests/data/compare_runs), including a live one.

The chart keys shared with the dashboard, the readout, the x window, hiding and filtering runs live in
test_compare_keys.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from pilot_support import halfcell, wait_for
from runs_data import RECORDED, recorded_runs, running_status

from diffdash.compare.shared import config_diff, debiased_ema, hex_to_rgb, run_colour
from diffdash.runs.history import read_history
from diffdash.ui.compare_app import CompareApp
from diffdash.ui.compare_panels import ConfigDiffTable, GridRow, SummaryTable
from diffdash.ui.widgets.loss_chart import LossChart


def make_app(runs, poll_s: float = 60.0) -> CompareApp:
    """The real app on real run folders; half-cell images (textual-image's terminal query is not for tests)."""
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
        assert all(s.marker == "braille" for s in chart.series)  # lines, not half-block staircases
        assert [s.epoch_marks for s in chart.series] == [False, True, False, True]  # a marker per validation epoch
        legend = str(chart.query_one(".legend").render())  # the legend is a line of its own, above the plot
        assert legend.startswith("■ small MSE(ε)  ■ wide MSE(ε)") and "val" in legend  # each run's loss kind
        summary = app.query_one(SummaryTable)
        assert summary.row_count == 2
        first = [str(c) for c in summary.get_row_at(0)]
        best = read_history(runs[0]).best_val
        assert f"{best[0]:.5f} @{best[1]}" in first and first[1] == "finished"  # status right after the name
        assert first[2] == "MSE(ε)"  # what the loss measures
        fid = [k.value for k in summary.columns].index("FID @ep")  # after the tags column, left out when empty
        assert "@3" in first[fid] and "." in first[fid]  # FID of the eval at epoch 3
        assert first[7] == "256 mnist-small"  # the validation set: digits and the data actually used
        diff = app.query_one(ConfigDiffTable)
        keys = [str(diff.get_row_at(i)[0]) for i in range(diff.row_count)]
        assert "n_hidden" in keys and "parameters" in keys and "lr" not in keys
        assert app.epoch == 3 and grid_epochs(app) == ["epoch_0003.png", "epoch_0003.png"]


async def test_keys_switch_views(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide"))
    app = make_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        chart = app.query_one(LossChart)

        def drawn():
            return [s.name for s, _, _ in chart.prepared()]

        await pilot.press("t")
        assert drawn() == ["small train", "wide train"]
        await pilot.press("t")
        assert drawn() == ["small val", "wide val"]
        await pilot.press("t")
        assert len(drawn()) == 4
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
        assert chart.strength == 0.95 and chart.smoothing
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert chart.strength == 0.8
        assert chart.x_axis == "epoch"
        await pilot.press("a")
        assert chart.x_axis == "images"
        images = read_history(runs[0]).epoch_images[-1]
        assert max(max(x) for _, x, _ in chart.prepared()) == pytest.approx(images)
        await pilot.press("a")
        assert chart.x_axis == "time"
        await pilot.press("a")
        assert chart.x_axis == "epoch"  # compare's runs have no common step axis: it is left out of the cycle


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


@pytest.mark.parametrize("size", [(80, 24), (120, 36), (200, 50)], ids=["80x24", "120x36", "200x50"])
def test_snapshot_three_runs(snap_compare, tmp_path, size):
    runs = recorded_runs(tmp_path, ("small", "wide", "deep"))
    assert snap_compare(make_app(runs), terminal_size=size)


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


async def test_80x24_keeps_status_column_and_footer_keys(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide", "deep"))
    app = make_app(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.query_one(SummaryTable)
        used = sum(col.get_render_width(table) for col in list(table.columns.values())[:2])
        assert used <= table.scrollable_content_region.width, "run + status must fit without scrolling"
        assert await wait_for(pilot, lambda: len(app.query("FooterKey")) >= 8, timeout=10)
        footer_keys = list(app.query("FooterKey"))
        assert all(k.region.width > 0 and k.region.right <= 80 for k in footer_keys), "a footer key is cut"
        chart = app.query_one(LossChart)
        assert chart.region.height >= 12  # the chart keeps its height; the tables scroll under it
        body = app.query_one("#curves-body")
        assert body.max_scroll_y > 0
        await pilot.press("down", "down", "down")
        assert body.scroll_y > 0


def write_config(run, **changes) -> None:
    config = json.loads(run.config_path.read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    run.write_config(config)


async def test_different_validation_sets_warn_and_diff_shows_data_used(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide", "deep"))
    write_config(runs[1], n_val=10000, dataset="mnist", data={"name": "mnist", "source": "/data/mnist"})
    # deep asked for full MNIST but fell back to the bundled subset offline: it trained on mnist-small
    write_config(runs[2], dataset="mnist", data={"fallback_from": "/home/x/.cache/diffdash/data"})
    app = make_app(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        warning = app.query_one("#warning")
        assert warning.display
        text = str(warning.render())
        assert "validation sets differ" in text
        assert "small 256 of mnist-small" in text and "wide 10,000 of mnist" in text
        diff = app.query_one(ConfigDiffTable)
        rows = {str(diff.get_row_at(i)[0]): [str(c) for c in diff.get_row_at(i)[1:]] for i in range(diff.row_count)}
        assert "dataset" not in rows  # what was asked for is not what was used
        assert rows["data.name"] == ["mnist-small", "mnist", "mnist-small"]
        assert rows["n_val"] == ["256", "10,000", "256"]
        summary = [str(c) for c in app.query_one(SummaryTable).get_row_at(1)]
        assert summary[7] == "10,000 mnist"
        await pilot.press("h", "down", "space", "escape")  # hide wide: the other two compare
        assert runs[1].id not in [r.run.id for r in app.runs if r.shown]
        assert not app.query_one("#warning").display


async def test_same_validation_set_no_warning(tmp_path):
    app = make_app(recorded_runs(tmp_path, ("small", "wide")))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert not app.query_one("#warning").display


def test_compare_without_a_terminal_exits_2_at_once(tmp_path):
    recorded_runs(tmp_path / "runs", ("small", "wide"))
    env = {**os.environ, "DIFFDASH_RUNS": str(tmp_path / "runs")}
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "diffdash", "compare", "small", "wide"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=5,
    )
    assert done.returncode == 2, done.stderr
    assert "needs a terminal" in done.stderr and "--plain" in done.stderr
    assert "\x1b[" not in done.stdout  # no escape codes written into a file or pipe
    assert time.monotonic() - t0 < 5


def test_compare_plain_prints_summary_warning_and_diff(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from diffdash.cli import cli

    runs = recorded_runs(tmp_path / "runs", ("small", "wide"))
    write_config(runs[1], val_limit=128, n_val=128)
    monkeypatch.setenv("DIFFDASH_RUNS", str(tmp_path / "runs"))
    result = CliRunner().invoke(cli, ["compare", "small", "wide", "--plain"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["run", "status", "loss", "best"]
    best = read_history(runs[1]).best_val
    assert lines[2].startswith("wide") and f"{best[0]:.5f} @{best[1]}" in lines[2] and "128 mnist-small" in lines[2]
    assert any(line.startswith("warning: validation sets differ") for line in lines)
    assert any(line.split()[:3] == ["n_hidden", "4,8,4", "8,16,8"] for line in lines)
