"""Runs whose losses measure different things (DDPM: MSE of the noise; cold: L1 of the restored digit) are
labelled per run and never put on one axis or in one ranking unlabelled; config diffs show each run only
the options its model reads; compare stays usable at 80x24. On the recorded real runs, one of them turned
into a cold blur run by its config (what every view reads to tell the kinds apart)."""

from __future__ import annotations

import json

from click.testing import CliRunner
from PIL import Image
from pilot_support import halfcell
from runs_data import recorded_runs

from diffdash.cli import cli
from diffdash.compare.shared import config_diff
from diffdash.options.run_kinds import key_applies, loss_kind, loss_kinds_warning
from diffdash.ui.compare_app import CompareApp
from diffdash.ui.compare_panels import ConfigDiffTable, GridRow, SummaryTable
from diffdash.ui.widgets.loss_chart import LossChart, PlotArea

BLUR = {"model": "cold", "degradation": "blur", "loss": "l1", "kernel_size": 11, "mask_std": 12.0,
        "pixelate_min": 4, "fade_to": "black", "n_T": 20, "sampler": "alg2"}  # fmt: skip


def make_cold(run, **extra) -> None:
    config = json.loads(run.config_path.read_text())
    run.write_config({**config, **BLUR, **extra})


def app_for(runs) -> CompareApp:
    return CompareApp(runs, image_mode="halfcell", image_cls=halfcell(), poll_s=60.0)


def test_loss_kinds_and_which_keys_apply():
    ddpm, blur = {"model": "ddpm"}, dict(BLUR)
    assert loss_kind(ddpm) == "MSE(ε)" and loss_kind(blur) == "L1(x0)"
    assert loss_kind({**blur, "loss": "l2"}) == "MSE(x0)"
    assert loss_kinds_warning(["a", "b"], [ddpm, ddpm]) is None
    assert loss_kinds_warning(["a", "b"], [ddpm, blur]) == "losses differ: a MSE(ε); b L1(x0): not comparable"
    assert key_applies("kernel_size", blur) and not key_applies("mask_std", blur)
    assert key_applies("schedule", ddpm) and not key_applies("schedule", blur)
    assert not key_applies("kernel_size", ddpm) and key_applies("lr", blur)


def test_config_diff_shows_only_keys_a_model_reads():
    ddpm = {"model": "ddpm", "schedule": "cosine", "lr": 1e-3}
    blur = {**BLUR, "schedule": "linear", "lr": 1e-3}
    rows = dict(config_diff([ddpm, blur]))
    assert rows["schedule"] == ["cosine", "n/a"]  # a cold run's schedule is not read: n/a, not "linear"
    assert rows["kernel_size"] == ["n/a", 11]
    assert not {"mask_std", "pixelate_min", "fade_to"} & set(rows)  # options of other degradations: not shown
    mask = {**BLUR, "degradation": "mask"}
    rows = dict(config_diff([blur, mask]))
    assert rows["mask_std"] == ["n/a", 12.0] and rows["kernel_size"] == [11, "n/a"]


async def test_compare_labels_loss_kinds_and_warns(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide", "deep"))
    make_cold(runs[2])
    app = app_for(runs)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        warning = app.query_one("#warning")
        assert warning.display and "losses differ: small, wide MSE(ε); deep L1(x0)" in str(warning.render())
        legend = str(app.query_one(LossChart).query_one(".legend").render())
        assert "■ small MSE(ε)" in legend and "■ deep L1(x0)" in legend
        summary = app.query_one(SummaryTable)
        assert [str(summary.get_row_at(i)[2]) for i in range(3)] == ["MSE(ε)", "MSE(ε)", "L1(x0)"]
        diff = app.query_one(ConfigDiffTable)
        rows = {str(diff.get_row_at(i)[0]): [str(c) for c in diff.get_row_at(i)[1:]] for i in range(diff.row_count)}
        assert rows["kernel_size"] == ["n/a", "n/a", "11"] and "mask_std" not in rows
        assert rows["betas"][2] == "n/a"  # the β schedule is DDPM's alone
        await pilot.press("h", "down", "down", "space")  # hide the cold run: the rest compare
        await pilot.pause()
        assert not app.query_one("#warning").display


def test_compare_plain_and_report_keep_kinds_apart(tmp_path, monkeypatch):
    runs = recorded_runs(tmp_path / "runs", ("small", "wide", "deep"))
    make_cold(runs[2])
    monkeypatch.setenv("DIFFDASH_RUNS", str(tmp_path / "runs"))
    result = CliRunner().invoke(cli, ["compare", "small", "deep", "--plain"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["run", "status", "loss"]
    assert lines[1].split()[2] == "MSE(ε)" and lines[2].split()[2] == "L1(x0)"
    assert "warning: losses differ: small MSE(ε); deep L1(x0): not comparable" in lines
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["report", "small", "wide", "deep", "-o", str(out), "--epochs", "3"])
    assert result.exit_code == 0, result.output
    with Image.open(out / "overlay.png") as img:
        assert img.size == (1400, 1000)  # a row of panels per loss kind, each with its own y axis
    index = (out / "index.md").read_text()
    assert "| small | `small` | finished | MSE(ε) |" in index and "| deep | `deep` | finished | L1(x0) |" in index
    assert "**Warning**: losses differ" in index


async def test_80x24_chart_summary_and_grids_fit(tmp_path):
    runs = recorded_runs(tmp_path, ("small", "wide", "deep"))
    make_cold(runs[2])
    for run, tags in zip(runs, (["base"], [], ["x"]), strict=True):
        (run.path / "tags.json").write_text(json.dumps(tags))
    app = app_for(runs)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.query_one(PlotArea).size.height >= 11  # was 9, with one more lost to the x label
        summary = app.query_one(SummaryTable)
        names = [str(c.label) for c in summary.columns.values()]
        assert names[:3] == ["run", "status", "loss"]
        right = 0
        for name, col in zip(names, summary.columns.values(), strict=True):
            right += col.get_render_width(summary)
            if name == "tags":
                break
        assert {"params", "val on", "tags"} <= set(names)
        assert right <= summary.scrollable_content_region.width, "params, val on and tags fit without scrolling"
        body = app.query_one("#curves-body")
        assert summary.region.y + 1 + len(runs) <= body.region.bottom, "the summary's rows show under the chart"
        await pilot.press("down", "2")  # the curves tab scrolled first: the grids still fit their boxes
        await pilot.pause(0.3)
        images = app.query_one(GridRow).images
        assert all(img._picture.size.width >= 20 for img in images), [img._picture.size for img in images]
        assert all(img.cropped for img in images)  # 25 cells for 4 digits: show 2x2 of them, twice as large
        assert images[0]._picture.image.size == (62, 62)
        await pilot.resize_terminal(200, 50)
        await pilot.pause(0.3)
        assert not any(img.cropped for img in images)


def test_runs_ranks_best_val_within_each_loss_kind(tmp_path, monkeypatch):
    runs = recorded_runs(tmp_path / "runs", ("small", "wide", "deep"))
    make_cold(runs[2])  # deep's val loss (0.84) is the worst of the three: as an L1 it must not rank among MSEs
    monkeypatch.setenv("DIFFDASH_RUNS", str(tmp_path / "runs"))
    result = CliRunner().invoke(cli, ["runs", "--sort", "best-val"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[1] for line in lines[1:4]] == ["deep", "wide", "small"]  # L1(x0) first, then the MSEs
    assert lines[-1] == "ranked within each loss kind (L1(x0), MSE(ε)): losses of different kinds do not compare"
