"""CPU and memory as a history: `system` events sampled by real training, read by History and `watch --plain`,
and ignored by every reader that splits time between events (they end no phase)."""

from __future__ import annotations

import os

from click.testing import CliRunner

from diffdash.runs.history import History, read_history
from diffdash.runs.progress import RunProgress
from diffdash.runs.time_spent import time_spent
from diffdash.store.events import well_formed


def test_training_writes_system_samples_in_step_order(sampled_run):
    events = sampled_run.read_events()[0]
    samples = [e for e in events if e["event"] == "system"]
    assert len(samples) >= 3
    assert all(well_formed(e) for e in samples)
    assert all(e["rss_bytes"] > 50 * 2**20 and e["cpus"] == os.cpu_count() for e in samples)
    assert any("cpu_percent" in e for e in samples)
    steps = [e["step"] for e in events if e["event"] in ("step", "system")]
    assert steps == sorted(steps), "a sample never lands before the step lines of the steps it follows"
    h = read_history(sampled_run)
    assert h.figure_x("rss_bytes")[1] == [e["rss_bytes"] for e in samples]
    assert h.figure_x("cpu_percent")[1] == [e["cpu_percent"] for e in samples if "cpu_percent" in e]


def test_samples_change_no_time_or_rate_figure(sampled_run):
    events = sampled_run.read_events()[0]
    without = [e for e in events if e["event"] != "system"]
    assert time_spent(events) == time_spent(without)

    def figures(evs):
        meter = RunProgress()
        for e in evs:
            meter.apply(e, now=0.0)
        return meter.figures(now=0.0, running=False), meter.images_per_s()

    assert figures(events) == figures(without)
    h, plain = History(), History()
    for e in events:
        h.apply(e)
    for e in without:
        plain.apply(e)
    assert h.step_x() == plain.step_x() and h.epoch_x() == plain.epoch_x()


def test_a_sample_during_validation_keeps_the_phase():
    meter = RunProgress()
    meter.apply({"event": "start", "epochs": 1, "steps_per_epoch": 4, "time": 0.0})
    meter.apply({"event": "progress", "phase": "validating", "done": 1, "total": 8, "time": 1.0})
    meter.apply({"event": "system", "step": 4, "time": 1.5, "rss_bytes": 1, "cpus": 2})
    assert meter.phase == {"phase": "validating", "done": 1, "total": 8}


def test_watch_plain_prints_the_history(sampled_run):
    from diffdash.cli import cli

    result = CliRunner().invoke(cli, ["watch", "--runs-dir", str(sampled_run.path.parent), "sampled", "--plain"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("system (every few seconds of training, oldest to newest):")
    cpu, memory = lines[start + 1], lines[start + 2]
    n = len([e for e in sampled_run.read_events()[0] if e["event"] == "system"])
    assert memory.split()[0] == "memory" and memory.endswith(f"({n} samples)")
    assert cpu.split()[0] == "CPU" and "now" in cpu and "peak" in cpu
    assert set(memory.split()[1]) <= set("▁▂▃▄▅▆▇█")
