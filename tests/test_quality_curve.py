"""Quality as a curve over time: runs trained with --eval-every show their FID, digits covered and confidence (and a
conditional run's accuracy) per evaluation in the `g` cycle of the dashboard and compare (against epochs and
training time, the other figures on the readout), a run without evaluations says how to get them, and compare gives
the FID every run had at an equal training time."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from pilot_support import halfcell, wait_for

from diffdash.cli import cli
from diffdash.compare.quality_curve import digits_covered, fid_at_equal_time, scored
from diffdash.formats import format_clock
from diffdash.runs.history import read_history
from diffdash.store import RunDir
from diffdash.training import Engine
from diffdash.ui.chart_views import CHART_VIEWS, EMPTY_TEXT
from diffdash.ui.compare_app import CompareApp
from diffdash.ui.compare_panels import SummaryTable
from diffdash.ui.dashboard import DashboardApp
from diffdash.ui.widgets.loss_chart import LossChart

SIZE = (120, 36)


@pytest.fixture(scope="module")
def quality_runs(tmp_path_factory, small_data, tiny_config, small_classifier):
    """Real runs on the bundled subset: a CNN and a U-Net evaluated every epoch (24 samples, DDIM 5 steps), and
    a CNN never evaluated."""
    _, cache = small_classifier
    mp = pytest.MonkeyPatch()
    mp.setenv("DIFFDASH_DATA", str(cache))
    root = tmp_path_factory.mktemp("quality")
    made = {}
    for name, options in {
        "cnn": dict(epochs=3, eval_every=1, eval_n=24, keep_snapshots=True),
        "unet": dict(net="unet", unet_channels=[8, 16, 16], epochs=2, eval_every=1, eval_n=24),
        "plain": dict(epochs=1),
        "cond": dict(cond="class", epochs=2, eval_every=1, eval_n=20),
    }.items():
        run = RunDir.create(root, name)
        assert Engine(run, tiny_config(name=name, **options), data=small_data).run() == "finished"
        made[name] = run
    yield made, root
    mp.undo()


def evals_of(run: RunDir) -> list[dict]:
    return [e for e in run.read_events()[0] if e["event"] == "eval"]


def test_fid_at_equal_time_takes_each_runs_last_evaluation_by_the_shortest_runs_time(quality_runs):
    runs, _ = quality_runs
    histories = [read_history(runs[k]) for k in ("cnn", "unet", "plain")]
    equal = fid_at_equal_time(histories)
    reached = [h.time.train for h in histories[:2]]
    assert equal.seconds == min(reached)  # "plain" has no evaluation: it does not shorten the time
    assert equal.evals[2] is None
    for h, e in zip(histories[:2], equal.evals[:2], strict=True):
        times = [x["train_time"] for x in h.evals]
        assert times == sorted(times) and len(times) == len(h.epochs)  # one per epoch, in training time order
        by_then = [x for x in h.evals if x["train_time"] <= equal.seconds + 1e-3]  # train_time is rounded to ms
        assert e == (by_then[-1] if by_then else None)  # the last one by then, not a later one
    shorter = min(range(2), key=lambda i: reached[i])
    assert equal.evals[shorter] == histories[shorter].evals[-1]  # evaluated at its end, which is the common time


async def test_dashboard_draws_fid_per_evaluation_against_epochs_and_training_time(quality_runs):
    runs, _ = quality_runs
    run = runs["cnn"]
    evals = evals_of(run)
    history = read_history(run)
    app = DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=60)
    async with app.run_test(size=SIZE) as pilot:
        chart = app.query_one(LossChart)
        assert await wait_for(pilot, lambda: chart.points_drawn > 0, timeout=10)
        await pilot.press("g")
        assert app.chart_view == "quality"
        [fid] = chart.series
        assert fid.name == "FID" and list(fid.y) == [e["fid"] for e in evals]
        assert chart.points_drawn == len(evals) == 3 and chart.axis == "epoch"
        assert list(fid.x["epoch"]) == [1.0, 2.0, 3.0]
        assert chart.flags().startswith("FID (MNIST classifier) (g) · x epoch")
        while chart.axis != "time":
            await pilot.press("a")
        assert [ln.x for ln in chart.lines] == [[e["train_time"] for e in history.evals]]
        await pilot.press("r")  # the readout at the newest evaluation: its FID, digits covered and confidence
        last = evals[-1]
        assert chart.values_at_cursor() == {"FID": last["fid"]}
        readout = str(chart.query_one(".readout").render())
        covered = digits_covered(last["histogram"])
        assert f"{covered}/10 digits conf {last['confidence']:.2f} (ddim 5, n=24)" in readout, readout


async def show(pilot, app, view: str) -> LossChart:
    chart = app.query_one(LossChart)
    assert await wait_for(pilot, lambda: chart.points_drawn > 0, timeout=10)
    for _ in CHART_VIEWS:
        if app.chart_view == view:
            break
        await pilot.press("g")
    assert app.chart_view == view
    return chart


async def test_dashboard_draws_digits_covered_and_confidence_against_epochs_and_training_time(quality_runs):
    runs, _ = quality_runs
    evals, history = evals_of(runs["cnn"]), read_history(runs["cnn"])
    app = DashboardApp(runs["cnn"], image_mode="halfcell", image_cls=halfcell(), poll_s=60)
    async with app.run_test(size=SIZE) as pilot:
        chart = await show(pilot, app, "digits")
        [digits] = chart.series
        assert digits.name == "digits covered" and list(digits.y) == [digits_covered(e["histogram"]) for e in evals]
        assert list(digits.x["epoch"]) == [1.0, 2.0, 3.0] and chart.points_drawn == 3
        assert chart.flags().startswith("digits covered (of 10) (g) · x epoch")
        while chart.axis != "time":
            await pilot.press("a")
        assert [ln.x for ln in chart.lines] == [[e["train_time"] for e in history.evals]]
        await pilot.press("r")
        readout = str(chart.query_one(".readout").render())
        assert f"FID {evals[-1]['fid']:.1f} " in readout, readout  # the other figures beside the point
        await pilot.press("g")
        assert app.chart_view == "confidence" and chart.axis == "time"  # the x axis stays where `a` put it
        assert {s.name: list(s.y) for s in chart.series} == {"confidence": [e["confidence"] for e in evals]}
        assert [ln.x for ln in chart.lines] == [[e["train_time"] for e in history.evals]]


async def test_a_conditional_run_draws_accuracy_beside_confidence(quality_runs):
    runs, _ = quality_runs
    evals = evals_of(runs["cond"])
    assert all("accuracy" in e for e in evals)
    app = DashboardApp(runs["cond"], image_mode="halfcell", image_cls=halfcell(), poll_s=60)
    async with app.run_test(size=SIZE) as pilot:
        chart = await show(pilot, app, "confidence")
        assert {s.name: list(s.y) for s in chart.series} == {
            "confidence": [e["confidence"] for e in evals],
            "accuracy": [e["accuracy"] for e in evals],
        }
        assert chart.points_drawn == 2 * len(evals) == 4


async def test_compare_draws_each_runs_digits_covered_and_confidence(quality_runs):
    runs, _ = quality_runs
    app = CompareApp([runs[k] for k in ("cnn", "unet", "plain")], image_mode="halfcell", image_cls=halfcell(),
                     poll_s=60)  # fmt: skip
    async with app.run_test(size=(160, 40)) as pilot:
        chart = await show(pilot, app, "digits")
        assert {s.name: list(s.y) for s in chart.series} == {
            f"{k} digits covered": [digits_covered(e["histogram"]) for e in evals_of(runs[k])] for k in ("cnn", "unet")
        }
        await pilot.press("g")
        assert {s.name: list(s.y) for s in chart.series} == {
            f"{k} confidence": [e["confidence"] for e in evals_of(runs[k])] for k in ("cnn", "unet")
        }
        while chart.axis != "time":
            await pilot.press("a")
        assert chart.points_drawn == 5


async def test_a_run_without_evaluations_says_how_to_get_them(quality_runs):
    runs, _ = quality_runs
    app = DashboardApp(runs["plain"], image_mode="halfcell", image_cls=halfcell(), poll_s=60)
    async with app.run_test(size=SIZE) as pilot:
        chart = app.query_one(LossChart)
        assert await wait_for(pilot, lambda: chart.points_drawn > 0, timeout=10)
        await pilot.press("g")
        assert app.chart_view == "quality" and chart.series == [] and chart.points_drawn == 0
        assert chart.empty_text == EMPTY_TEXT["quality"] and "--eval-every" in chart.empty_text
        await pilot.press("g")
        assert app.chart_view == "digits" and chart.points_drawn == 0 and "--eval-every" in chart.empty_text


async def test_compare_draws_each_runs_fid_and_gives_fid_at_equal_training_time(quality_runs):
    runs, _ = quality_runs
    order = [runs[k] for k in ("cnn", "unet", "plain")]
    equal = fid_at_equal_time([read_history(r) for r in order])
    app = CompareApp(order, image_mode="halfcell", image_cls=halfcell(), poll_s=60)
    async with app.run_test(size=(160, 40)) as pilot:
        chart = app.query_one(LossChart)
        assert await wait_for(pilot, lambda: chart.points_drawn > 0, timeout=10)
        await pilot.press("g")
        assert {s.name: list(s.y) for s in chart.series} == {
            "cnn FID": [e["fid"] for e in evals_of(runs["cnn"])],
            "unet FID": [e["fid"] for e in evals_of(runs["unet"])],
        }
        await pilot.press("a")
        assert chart.axis == "images" and chart.points_drawn == 5
        table = app.query_one(SummaryTable)
        headings = [str(c.label) for c in table.columns.values()]
        column = headings.index(f"FID@{format_clock(equal.seconds)}")  # the heading names the common time
        cells = [str(table.get_row_at(i)[column]) for i in range(3)]
        assert cells == [f"{e['fid']:.1f}" if e else "-" for e in equal.evals]
        assert cells.count("-") <= 2  # the shorter evaluated run has its last evaluation there


def test_compare_plain_says_fid_at_equal_training_time(quality_runs):
    runs, root = quality_runs
    equal = fid_at_equal_time([read_history(runs[k]) for k in ("cnn", "unet")])
    result = CliRunner().invoke(cli, ["compare", "--plain", "--runs-dir", str(root), "cnn", "unet"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("FID (MNIST classifier) at equal training"))
    assert f"time {format_clock(equal.seconds)} " in line and "not interpolated" in line
    for label, e in zip(("cnn", "unet"), equal.evals, strict=True):
        assert (f"{label} {e['fid']:.1f} (epoch {e['epoch']}, evaluated at" if e else f"{label} -") in line


def test_report_draws_fid_by_training_time_and_says_fid_at_equal_time(quality_runs, tmp_path):
    import numpy as np
    from PIL import Image

    runs, root = quality_runs
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["report", "--runs-dir", str(root), "cnn", "unet", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out / "fid.png") as img:
        pixels = np.asarray(img.convert("RGB"))
    assert pixels.shape[:2] == (500, 1400)  # two panels: by epoch, by training time
    right = pixels[:, 700:]
    for colour in ((0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)):  # both runs drawn against training time
        assert (np.abs(right.astype(int) - colour).sum(axis=2) < 30).sum() > 50, colour
    index = (out / "index.md").read_text()
    assert "FID (MNIST classifier) at equal training time" in index


def test_an_eval_of_an_earlier_snapshot_sits_at_that_snapshots_training_time(quality_runs, tmp_path):
    runs, _ = quality_runs
    shutil.copytree(runs["cnn"].path, tmp_path / "cnn")
    run = RunDir(tmp_path / "cnn")
    result = CliRunner().invoke(cli, ["eval", "--runs-dir", str(tmp_path), "cnn", "--epoch", "1", "-n", "24"])
    assert result.exit_code == 0, result.output
    h = read_history(run)
    points = scored(h)
    assert [e["epoch"] for e in points] == [1, 1, 2, 3]  # in training order, not in the order written
    first_epoch = h.epochs[0]["train_time"]
    assert points[1]["checkpoint"] == "epoch_0001.pt" and points[1]["train_time"] == first_epoch
    assert h.evals[-1]["train_time"] == pytest.approx(h.time.train, abs=1e-3)  # History alone: the end of training
