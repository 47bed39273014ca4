"""`diffdash watch`: follows a run another process is training, and never writes into a run folder."""

from __future__ import annotations

import os
import signal
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
        proc.send_signal(signal.SIGSTOP)  # held until the watcher is up: a fast machine finishes 3 tiny epochs first
        run = resolve_run(runs, "bg")
        app = DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=0.2)
        async with app.run_test(size=(100, 30)) as pilot:
            seen_first = len(app.view.epochs)
            proc.send_signal(signal.SIGCONT)
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


def test_watch_without_a_terminal_exits_2_at_once(tmp_path):
    """`diffdash watch latest </dev/null >out` must not hang drawing escape codes into a file."""
    record_run(tmp_path / "runs")
    cmd = [sys.executable, "-m", "diffdash", "watch", "--runs-dir", str(tmp_path / "runs")]
    started = time.monotonic()
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    assert done.returncode == 2 and "needs a terminal" in done.stderr and "--plain" in done.stderr
    assert done.stdout == "" and "\x1b" not in done.stderr
    assert took < 5.0, f"took {took:.1f} s"


def test_watch_plain_prints_a_text_snapshot(tmp_path):
    run = record_run(tmp_path / "runs")
    result = CliRunner().invoke(cli, ["watch", "--plain", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{run.id}  stopped  ddpm [16,32,32,16]  103,601 params  cpu fp32")
    assert "epoch 3/4  step 120/160 (75%)" in lines[1] and "2,560 img/s" in lines[1]
    assert any(line.strip().startswith("epoch   3  train") for line in lines)
    assert any(line.startswith("newest grid:") and line.endswith("epoch_0003.png") for line in lines)
    assert "watch [OPTIONS] [RUN]" in CliRunner().invoke(cli, ["watch", "--help"]).output


async def test_watch_says_training_keys_are_unavailable(tmp_path):
    run = record_run(tmp_path / "runs")
    app = DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=0.1)
    async with app.run_test(size=(100, 30)) as pilot:
        for key in ("p", "s", "x"):
            await pilot.press(key)
            await pilot.pause(0.1)
        said = [n.message for n in app._notifications]
        assert len(said) == 3 and all("not available in watch" in m for m in said)
        assert "p (pause)" in said[0] and "s (sample now)" in said[1] and "x (stop)" in said[2]


async def test_watch_offers_no_training_keys(tmp_path):
    """x p s c are the training app's alone: watch's footer and command palette offer none of them."""
    from diffdash.ui.train_app import TrainApp
    from diffdash.ui.widgets.chart_keys import AppCommands

    training = set(TrainApp.TRAINING_ACTIONS)
    assert training <= {b.action for b in TrainApp.BINDINGS}
    watch_actions = {b.action for bs in DashboardApp._merge_bindings().key_to_bindings.values() for b in bs}
    assert not watch_actions & training
    run = record_run(tmp_path / "runs")
    app = DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=60)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        footer_keys = {k.key for k in app.screen.query("FooterKey")}
        assert {"q", "v", "l"} <= footer_keys and not footer_keys & {"x", "p", "s", "c"}
        titles = [title for title, _, _ in AppCommands(app.screen, None).commands()]
        assert any("log / linear" in t for t in titles)
        offered = [t for t in titles if any(w in t for w in ("Stop training", "Pause", "Checkpoint", "preview grid"))]
        assert not offered, offered


async def test_watch_shows_the_validation_phase_from_the_status(tmp_path):
    """Progress events are not in metrics.jsonl; a watcher learns the phase from status.json."""
    from diffdash.store import process_identity
    from diffdash.ui.panels import ProgressPanel

    run = record_run(tmp_path / "runs")
    status = {**run.read_status(), **process_identity(), "state": "running", "heartbeat": time.time(), "time": 6.0,
              "phase": {"phase": "validating", "done": 3200, "total": 10000}}  # fmt: skip
    run.write_status(status)
    app = DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=0.1)
    async with app.run_test(size=(120, 36)) as pilot:
        panel = app.query_one(ProgressPanel)
        assert await wait_for(pilot, lambda: "validating 3,200/10,000" in str(panel.render()), timeout=10)
        run.write_status({**status, "phase": None})
        assert await wait_for(pilot, lambda: "validating" not in str(panel.render()), timeout=10)


async def test_watch_shows_a_mistyped_config_as_damaged(tmp_path):
    import json

    run = record_run(tmp_path / "runs")
    config = json.loads(run.config_path.read_text())
    run.config_path.write_text(json.dumps({**config, "n_hidden": "abc"}))
    app = DashboardApp(run, image_mode="halfcell", image_cls=halfcell(), poll_s=0.1)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        header = str(app.query_one("#header").render())
    assert "damaged config.json" in header and "n_hidden" in header
    assert "a,b,c" not in header
