"""Training time and images/s: one definition (`diffdash.runs.time_spent`), and every view of one run agreeing on it."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fault_support import TINY, invoke
from pilot_support import halfcell, wait_for
from rich.console import Console
from runs_data import RECORDED, copy_run

from diffdash.formats import format_clock
from diffdash.runs.headless import HeadlessPrinter
from diffdash.runs.time_spent import time_spent
from diffdash.store import RunDir


@pytest.mark.parametrize("name", ["small", "wide", "deep"])
def test_training_seconds_are_the_epochs_own_and_leave_validation_and_previews_out(name):
    events = RunDir(RECORDED / name).read_events()[0]
    spent = time_spent(events)
    epoch_seconds = sum(e["seconds"] for e in events if e["event"] == "epoch")
    assert spent.train == pytest.approx(epoch_seconds, abs=0.05)
    assert spent.total == pytest.approx(events[-1]["time"], abs=1e-6)  # every second is placed somewhere
    assert spent.val > 0 and spent.preview > 0 and spent.train < events[-1]["time"] - spent.preview
    assert spent.images_per_s == pytest.approx(3072 / spent.train)


def test_a_resume_puts_the_training_seconds_back_to_its_checkpoint():
    events = RunDir(RECORDED / "small").read_events()[0]
    upto = next(i for i, e in enumerate(events) if e["event"] == "checkpoint")  # the end of epoch 1
    at_checkpoint = time_spent(events[: upto + 1])
    lost = [e for e in events[upto + 1 :] if e["event"] == "step"][:5]  # steps a crash lost
    marker = {**events[0], "event": "resumed", "epoch": 2, "step": 16, "images": 1024, "time": lost[-1]["time"] + 1}
    resumed = time_spent([*events[: upto + 1], *lost, marker])
    assert resumed.train == pytest.approx(at_checkpoint.train) and resumed.images == 1024
    assert resumed.other == pytest.approx(at_checkpoint.other + marker["time"] - at_checkpoint.clock)


def test_a_run_stopped_mid_epoch_gives_its_training_time_in_the_closing_summary():
    """The symptom: a headless run stopped mid-epoch said `training 00:00`, the training of no whole epoch."""
    events = RunDir(RECORDED / "wide").read_events()[0]
    cut = next(i for i, e in enumerate(events) if e["event"] == "step" and e["step"] == 40)  # inside epoch 3
    stopped = {**{k: events[cut][k] for k in ("epoch", "step", "images")}, "event": "stopped",
               "time": events[cut]["time"] + 0.5}  # fmt: skip
    out = io.StringIO()
    printer = HeadlessPrinter(Console(file=out, width=200), config={"epochs": 3})
    for e in [*events[: cut + 1], stopped]:
        printer(e)
    spent = time_spent([*events[: cut + 1], stopped])
    assert spent.train > sum(e["seconds"] for e in events[:cut] if e["event"] == "epoch") + 5  # epoch 3 counts
    assert f"training {format_clock(spent.train)} ({2560 / spent.train:,.0f} img/s)" in out.getvalue()


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    """A real tiny run trained through the CLI (headless: its closing summary is in the output), and a copy."""
    root = tmp_path_factory.mktemp("views")
    result = invoke("new", *TINY, "--train-limit", "512", "--epochs", "2", "--name", "one", "--threads", "1", runs=root)
    assert result.exit_code == 0, result.output
    RunDir(root / "one").release_lock()
    copy_run(root / "one", root, "two", name="two")
    spent = time_spent(RunDir(root / "one").read_events()[0])
    return root, result.output, spent


async def test_every_view_gives_the_same_training_time_and_images_per_second(one_run, tmp_path):
    root, headless, spent = one_run
    rate = spent.images / spent.train
    rate_text, clock = f"{rate:,.0f}", format_clock(spent.train)
    said = {}

    said["headless"] = re.search(r"training (\S+) \((\S+) img/s\)", headless).groups()
    watch = invoke("watch", "one", "--plain", runs=root).output
    said["watch"] = (re.search(r"training (\S+)", watch).group(1), re.search(r"(\S+) img/s", watch).group(1))
    listing = json.loads(invoke("runs", "--json", runs=root).output)
    said["runs"] = (format_clock(next(r["duration"] for r in listing if r["id"] == "one")), rate_text)
    export = list(csv.DictReader(io.StringIO(invoke("export", "one", runs=root).output)))
    last = export[-1]
    said["export"] = (format_clock(float(last["time"])), f"{int(last['images']) / float(last['time']):,.0f}")
    compare = invoke("compare", "one", "two", "--plain", runs=root).output.splitlines()
    row = next(line for line in compare if line.startswith("one "))
    said["compare"] = (clock, row[compare[0].index("img/s") :].split()[0])  # aligned columns
    report = invoke("report", "one", "-o", str(tmp_path / "report"), runs=root)
    assert report.exit_code == 0, report.output
    table = (tmp_path / "report" / "index.md").read_text()
    cells = next(line for line in table.splitlines() if line.startswith("| one")).split("|")
    heads = [h.strip() for h in next(line for line in table.splitlines() if "images/s" in line).split("|")]
    said["report"] = (clock, cells[heads.index("images/s")].strip())

    from diffdash.ui.dashboard import DashboardApp
    from diffdash.ui.panels import ProgressPanel

    app = DashboardApp(RunDir(root / "one"), image_mode="halfcell", image_cls=halfcell(), poll_s=0.1)
    async with app.run_test(size=(120, 36)) as pilot:
        panel = app.query_one(ProgressPanel)
        assert await wait_for(pilot, lambda: "training" in str(panel.render()), timeout=30)
        text = str(panel.render())
    said["dashboard"] = (re.search(r"training (\S+)", text).group(1), re.search(r"(\S+) img/s", text).group(1))

    said = {view: (t, r.replace(",", "")) for view, (t, r) in said.items()}  # 1,234 or 1234: the same figure
    assert said == {view: (clock, rate_text.replace(",", "")) for view in said}, f"training {clock}, {rate_text} img/s"
    assert float(last["time"]) == pytest.approx(spent.train, abs=1e-3)  # export's time: training seconds
    assert next(r["duration"] for r in listing if r["id"] == "one") == pytest.approx(spent.train, abs=1e-3)
