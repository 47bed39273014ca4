"""--max-time: a run stops with a checkpoint when its training time reaches the budget, says why, and
`resume --max-time` goes on from there to the same end as a run never stopped."""

from __future__ import annotations

import json

from fault_support import TINY, invoke

from diffdash.store import RunDir


def step_losses(run: RunDir) -> list[float]:
    events = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    return [e["loss"] for e in events if e["event"] == "step"]


def test_max_time_stops_with_a_checkpoint_and_resume_extends_it(tmp_path):
    runs = tmp_path / "runs"
    args = [*TINY, "--epochs", "2", "--threads", "1"]
    first = invoke("new", *args, "--max-time", "0.001s", "--name", "budget", runs=runs)
    assert first.exit_code == 0, first.output
    assert "--max-time of 0.001s training is spent" in first.output
    run = RunDir(runs / "budget")
    status = run.read_status()
    assert (status["state"], status["reason"], status["step"]) == ("stopped", "max-time", 1)
    assert run.last_checkpoint.is_file()
    last = json.loads(run.metrics_path.read_text().splitlines()[-1])
    assert (last["event"], last["reason"]) == ("stopped", "max-time")

    again = invoke("resume", "budget", "--headless", runs=runs)  # the same budget: nothing to train
    assert again.exit_code == 2 and "give a longer one" in again.output, again.output
    assert run.read_status()["state"] == "stopped"

    more = invoke("resume", "budget", "--headless", "--max-time", "1h", runs=runs)
    assert more.exit_code == 0, more.output
    status = run.read_status()
    assert status["state"] == "finished" and status.get("reason") is None and status["epoch"] == 2
    assert run.read_config()["max_time"] == "1h"

    whole = invoke("new", *args, "--name", "whole", runs=runs)
    assert whole.exit_code == 0, whole.output
    assert step_losses(run) == step_losses(RunDir(runs / "whole"))  # stopped and resumed exactly


def test_a_run_stopped_by_max_time_is_scored_where_it_stopped(tmp_path, monkeypatch, small_classifier):
    """With --eval-every, the budget's stop ends the quality curve at the budget (mid-epoch), so runs compare at
    equal training time; a run stopped by the user is not scored again."""
    monkeypatch.setenv("DIFFDASH_DATA", str(small_classifier[1]))  # the cached classifier: no minute of training
    runs = tmp_path / "runs"
    args = [*TINY, "--epochs", "3", "--threads", "1", "--eval-every", "1", "--eval-n", "20", "--sample-steps", "5"]
    result = invoke("new", *args, "--max-time", "0.001s", "--name", "budget", runs=runs)
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in RunDir(runs / "budget").metrics_path.read_text().splitlines()]
    evals = [e for e in events if e["event"] == "eval"]
    assert len(evals) == 1 and evals[0]["step"] == 1, evals  # scored at the step it stopped, before any epoch end
    assert events[-1]["event"] == "stopped" and events.index(evals[0]) < len(events) - 1
