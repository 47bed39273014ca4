"""Findings of the adversarial trial on options: `resume --epochs` with a typo of a total."""

from __future__ import annotations

import json

from fault_support import TINY, copy_run, crashed, invoke


def test_resume_refuses_a_total_new_would_refuse_and_keeps_the_run_usable(template_run, tmp_path):
    """`resume --epochs 99999999999` used to be recorded in config.json, which every later command then refused
    to read (`config.json: epochs must be at most 1000000`): one typo and the run could not be resumed,
    sampled or evaluated without editing its JSON by hand."""
    run = copy_run(template_run, tmp_path / "runs")
    before = json.loads((run / "config.json").read_text())
    # --max-time 1s: without the check this trains (1e11 epochs) for a second instead of for ever
    result = invoke("resume", run.name, "--epochs", "99999999999", "--max-time", "1s", runs=run.parent)
    assert crashed(result) is None, crashed(result)
    assert result.exit_code == 2, result.output
    assert "--epochs" in result.output and "at most 1000000, got 99999999999" in result.output, result.output
    assert json.loads((run / "config.json").read_text()) == before, "nothing recorded"
    again = invoke("resume", run.name, "--epochs", "1", runs=run.parent)
    assert again.exit_code == 0 and "nothing to do" in again.output, again.output


def test_resume_to_fewer_epochs_than_trained_is_refused_not_marked_finished(tmp_path):
    """`resume --epochs 5` on a run that trained 18 used to end it "finished 18/5"."""
    runs = tmp_path / "runs"
    assert invoke("new", *TINY, "--epochs", "2", "--name", "two", runs=runs).exit_code == 0
    before = {p.name: p.read_bytes() for p in (runs / "two").iterdir() if p.is_file() and p.name != ".lock"}
    result = invoke("resume", "two", "--epochs", "1", runs=runs)
    assert crashed(result) is None and result.exit_code == 2, result.output
    assert "--epochs is the total to train to, and two has trained 2: give 2 or more" in result.output
    after = {p.name: p.read_bytes() for p in (runs / "two").iterdir() if p.is_file() and p.name != ".lock"}
    assert after == before, "nothing recorded"
    again = invoke("resume", "two", "--epochs", "2", runs=runs)
    assert again.exit_code == 0 and "already finished (2/2 epochs)" in again.output, again.output
