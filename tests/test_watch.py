"""`diffdash watch`: follows a run another process is training, and never writes into a run folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from pilot_support import halfcell, wait_for
from ui_recorded import record_run

from diffdash.cli import cli
from diffdash.store import resolve_run
from diffdash.ui.dashboard import DashboardApp
from diffdash.ui.widgets.sample_image import SampleImage


def folder_state(path: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(path.rglob("*"))}


async def test_watch_follows_a_run_trained_by_another_process(tmp_path):
    runs = tmp_path / "runs"
    cmd = [
        sys.executable,
        "-m",
        "diffdash",
        "new",
        "--headless",
        "--dataset",
        "mnist-small",
        "--n-hidden",
        "4,8,4",
        "--epochs",
        "3",
        "--train-limit",
        "256",
        "--val-limit",
        "64",
        "--batch-size",
        "32",
        "--n-T",
        "50",
        "--sample-steps",
        "5",
        "--device",
        "cpu",
        "--name",
        "bg",
        "--runs-dir",
        str(runs),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    try:
        deadline = time.monotonic() + 60
        while not (runs / "bg" / "status.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        run = resolve_run(runs, "bg")
        app = DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=0.2)
        async with app.run_test(size=(100, 30)) as pilot:
            seen_first = len(app.view.epochs)
            assert seen_first < 3, "the run finished before the watcher started: nothing to follow"
            assert await wait_for(pilot, lambda: len(app.view.epochs) > seen_first, 120), "no new epoch picked up"
            assert await wait_for(pilot, lambda: app.query_one(SampleImage).path is not None, 60)
            assert await wait_for(pilot, lambda: app.state() == "finished", 120)
            assert [e["epoch"] for e in app.view.epochs] == [1, 2, 3]
            assert len(app.view.steps) > 0 and app.query_one(SampleImage).path.name == "epoch_0003.png"
        assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_watch_is_read_only(tmp_path):
    run = record_run(tmp_path / "runs")
    before = folder_state(run.path)
    app = DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s", "c", "p", "x", "left", "left", "v", "right", "l", "m", "a")
        await pilot.pause(0.5)
        assert app.query_one(SampleImage).path.parent.name == "reconstruct"
        assert app.state() == "stopped"
    assert folder_state(run.path) == before


def test_watch_bad_reference_exits_2(tmp_path):
    record_run(tmp_path / "runs")
    result = CliRunner().invoke(cli, ["watch", "nope", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert "no run matches 'nope'" in result.output and "20261128-120000-ddpm-abcd" in result.output
    result = CliRunner().invoke(cli, ["watch", "latest", "--runs-dir", str(tmp_path / "runs"), "--poll", "0"])
    assert result.exit_code == 2 and "--poll" in result.output
