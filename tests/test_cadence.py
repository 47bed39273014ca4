"""--sample-every: epochs, steps, durations and auto; grids inside an epoch are filed by epoch and step."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from diffdash.cli import cli
from diffdash.options.cadence import Cadence, CadenceError, PreviewClock, parse_cadence
from diffdash.store import RunDir
from diffdash.training import Engine


def test_parse_terms_and_combinations():
    assert parse_cadence("auto") == Cadence(auto=True)
    assert parse_cadence(2) == Cadence(epochs=2)
    assert parse_cadence("500steps") == Cadence(steps=500)
    assert parse_cadence("2m") == Cadence(seconds=120.0)
    assert parse_cadence("90s") == Cadence(seconds=90.0)
    assert parse_cadence("1, 5min") == Cadence(epochs=1, seconds=300.0)
    for bad in ("", "0", "2x", "1.5steps", "-3", "soon"):
        with pytest.raises(CadenceError):
            parse_cadence(bad)


def test_bad_sample_every_exits_2_naming_the_option(tmp_path):
    result = CliRunner().invoke(cli, ["new", "--sample-every", "often", "--runs-dir", str(tmp_path), "--headless"])
    assert result.exit_code == 2 and "--sample-every" in result.output and "500steps" in result.output
    assert not any(tmp_path.iterdir())


def test_auto_draws_the_first_grid_within_a_minute_then_backs_off():
    clock = PreviewClock(parse_cadence("auto"), now=0.0)
    assert not clock.due_in_epoch(step=100, now=44.0)
    assert clock.due_in_epoch(step=101, now=45.0)
    clock.drawn(45.0)
    assert not clock.due_in_epoch(step=200, now=134.0) and clock.due_in_epoch(step=201, now=135.0)  # then 90 s
    clock.drawn(135.0)
    assert not clock.due_in_epoch(step=300, now=314.0) and clock.due_in_epoch(step=301, now=315.0)  # then 3 min
    assert clock.due_at_epoch_end(epoch=3, step=302, now=316.0), "auto also draws at every epoch's end"
    for _ in range(10):
        clock.drawn(clock.last_grid + clock.auto_wait)
    assert clock.auto_wait == 900.0  # never more than 15 minutes apart


def test_fixed_time_and_epoch_cadences():
    clock = PreviewClock(parse_cadence("2m"), now=0.0)
    assert not clock.due_in_epoch(1, 119.0) and clock.due_in_epoch(2, 120.0)
    clock.drawn(120.0)
    assert not clock.due_at_epoch_end(1, 3, 200.0) and clock.due_at_epoch_end(1, 3, 240.0)
    every2 = PreviewClock(parse_cadence("2"), now=0.0)
    assert not every2.due_in_epoch(10, 1e6)
    assert [e for e in range(1, 7) if every2.due_at_epoch_end(e, 0, 0.0)] == [2, 4, 6]


def test_step_cadence_files_grids_by_epoch_and_step(tmp_path, small_data, tiny_config):
    run = RunDir.create(tmp_path, "steps")
    config = tiny_config(epochs=2, train_limit=256, batch_size=64, sample_every="3steps")  # 4 steps an epoch
    events = []
    assert Engine(run, config, data=small_data, listeners=[events.append]).run() == "finished"
    names = sorted(p.name for _, p in run.samples())
    # steps 3 and 6 fall inside epochs 1 and 2; epoch 2 ends at step 8 and the last epoch always gets a grid
    assert names == ["epoch_0001_step_000003.png", "epoch_0002.png", "epoch_0002_step_000006.png"]
    phases = {e["phase"] for e in events if e["event"] == "progress"}
    assert phases == {"validating", "sampling"}
    sampling = [e for e in events if e["event"] == "progress" and e["phase"] == "sampling"]
    assert sampling[0]["total"] == config.sample_steps and max(e["done"] for e in sampling) == config.sample_steps - 1
    assert all(e["seconds"] >= 0 for e in events if e["event"] == "sample")
    assert all("val_seconds" in e for e in events if e["event"] == "epoch")
    stored = {e["event"] for e in run.read_events()[0]}
    assert "progress" not in stored, "progress is for the views, not metrics.jsonl"
