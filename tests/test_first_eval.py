"""First use of --eval-every: the MNIST classifier is trained before the first evaluation (about a minute and a
half on the full subset). That is a phase with progress the dashboard, `watch` and `runs` show, not a silent
"running"; and the FID line labels its change. A real tiny training whose data set is small enough for the
classifier to train in a second, with an empty data cache (so it has to)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from click.testing import CliRunner
from rich.text import Text

from diffdash.cli import cli
from diffdash.runs.progress import CLASSIFIER_PHASE, RunProgress
from diffdash.runs.summary import summarize
from diffdash.store import RunDir
from diffdash.training import Engine
from diffdash.ui.panels import eval_text


@pytest.mark.slow
def test_classifier_training_is_a_phase_with_progress(tmp_path, monkeypatch, small_data, tiny_config):
    monkeypatch.setenv("DIFFDASH_DATA", str(tmp_path / "cache"))  # no classifier cached: the eval trains one
    data = replace(
        small_data,
        train_images=small_data.train_images[:384],
        train_labels=small_data.train_labels[:384],
        test_images=small_data.test_images[:128],
        test_labels=small_data.test_labels[:128],
        info={**small_data.info, "name": "mnist-first-eval", "n_train": 384, "n_test": 128},
    )
    root = tmp_path / "runs"
    run = RunDir.create(root, "first")
    seen, listed, shown, drawn = [], [], [], []
    progress = RunProgress({})  # what the dashboard's progress panel reads

    def listen(event):
        progress.apply(event)
        if event.get("event") == "progress" and event.get("phase") == CLASSIFIER_PHASE:
            seen.append((event["done"], event["total"]))
            drawn.append(progress.phase_text())
            if len(seen) == 3:  # the status file has been written by now: what `runs` reads
                listed.append(summarize(run).phase)
                shown.append(CliRunner().invoke(cli, ["runs", "--runs-dir", str(root)]).output)

    config = tiny_config(epochs=1, eval_every=1, eval_n=16)
    state = Engine(run, config, data=data, listeners=[listen]).run()
    assert state == "finished"
    assert seen and seen[0][0] >= 1 and seen[-1][0] == seen[-1][1] > 1  # step by step, to the end
    assert listed and listed[0].startswith(CLASSIFIER_PHASE + " ")
    assert drawn[0] == f"{CLASSIFIER_PHASE} {seen[0][0]:,}/{seen[0][1]:,}"  # the dashboard's phase line
    assert f"running ({CLASSIFIER_PHASE} " in shown[0]
    events, _ = run.read_events(0)
    assert [e["event"] for e in events].count("eval") == 1


def test_fid_change_is_labelled():
    text = eval_text([{"fid": 598.54, "epoch": 1, "weights": "raw"}, {"fid": 470.77, "epoch": 2, "weights": "raw"}])
    assert isinstance(text, Text)
    assert "FID 470.77 (Δ -127.77 vs last eval)" in text.plain
