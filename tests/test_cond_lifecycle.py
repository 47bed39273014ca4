"""A class-conditional run through the rest of a run's life, like any other: a crash and `resume` end where an
uninterrupted run ends, two data-parallel workers train as one process does, a study trains one, TensorBoard
export logs its accuracy, and `report` draws its one-row-per-digit grids."""

from __future__ import annotations

import json
import subprocess

import pytest
import torch
from click.testing import CliRunner

from diffdash.cli import cli
from diffdash.store import RunDir
from diffdash.training import Engine


def cond_config(tiny_config, **overrides):
    return tiny_config(cond="class", cond_drop=0.3, guidance=1.5, n_T=50, **overrides)


def weights(run: RunDir) -> dict[str, torch.Tensor]:
    return torch.load(run.last_checkpoint, map_location="cpu", weights_only=False)["model"]


def test_a_crashed_conditional_run_resumes_to_the_uninterrupted_weights(tmp_path, small_data, tiny_config):
    root = tmp_path / "runs"
    whole = RunDir.create(root, "whole")
    assert Engine(whole, cond_config(tiny_config, name="whole"), data=small_data).run() == "finished"

    def crash_at_step_6(e):
        if e["event"] == "step" and e["step"] == 6:
            raise RuntimeError("simulated crash")  # after epoch 1's checkpoint at step 4: steps 5-6 are undone

    cut = RunDir.create(root, "cut")
    engine = Engine(cut, cond_config(tiny_config, name="cut"), data=small_data, listeners=[crash_at_step_6])
    assert engine.run() == "failed"
    result = CliRunner().invoke(cli, ["resume", "cut", "--runs-dir", str(root), "--headless"])
    assert result.exit_code == 0, result.output
    a, b = weights(whole), weights(cut)
    assert "label_embed.weight" in a and a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "labels and their drops resume exactly where they stopped"
    assert cut.read_config()["cond"] == "class" and cut.read_config()["guidance"] == 1.5


def test_tensorboard_export_logs_a_conditional_runs_accuracy(tmp_path, small_data, tiny_config, small_classifier):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from diffdash.bridges.tensorboard import export_run

    _, cache = small_classifier
    mp = pytest.MonkeyPatch()
    mp.setenv("DIFFDASH_DATA", str(cache))
    try:
        run = RunDir.create(tmp_path / "runs", "c")
        assert Engine(run, cond_config(tiny_config, eval_every=1, eval_n=20), data=small_data).run() == "finished"
    finally:
        mp.undo()
    export_run(run, tmp_path / "tb")
    acc = EventAccumulator(str(tmp_path / "tb" / "c"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    evals = [e for e in run.events() if e["event"] == "eval"]
    got = [(s.step, s.value) for s in acc.Scalars("quality/accuracy")]
    assert got == [(e["step"], pytest.approx(e["accuracy"])) for e in evals] and len(got) == 2
    assert acc.Images("samples/preview"), "the one-row-per-digit previews are logged as any grid"

    report = CliRunner().invoke(cli, ["report", "c", "--runs-dir", str(tmp_path / "runs"), "-o", str(tmp_path / "r")])
    assert report.exit_code == 0, report.output
    index = (tmp_path / "r" / "index.md").read_text()
    assert "grids_epoch_0002.png" in index and (tmp_path / "r" / "grids_epoch_0002.png").is_file()
    assert "| c |" in index and "FID (MNIST classifier)" in index


STUDY = """
[study]
name = "cs"
[defaults]
dataset = "mnist-small"
epochs = 1
train_limit = 128
val_limit = 64
n_T = 20
n_hidden = [4, 8, 4]
sample_steps = 2
batch_size = 64
[runs.guided]
cond = "class"
guidance = 4
cond_drop = 0.2
"""


@pytest.mark.slow
def test_a_study_trains_a_conditional_member(tmp_path):
    import sys

    (tmp_path / "cs.toml").write_text(STUDY)
    runs = tmp_path / "runs"
    done = subprocess.run(
        [sys.executable, "-m", "diffdash", "study", "run", str(tmp_path / "cs.toml"), "--runs-dir", str(runs)],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    run = RunDir(runs / "cs-guided")
    config = run.read_config()
    assert (config["cond"], config["guidance"], config["cond_drop"]) == ("class", 4.0, 0.2)
    assert run.read_status()["state"] == "finished"
    sample = [e for e in run.events() if e["event"] == "sample"][-1]
    assert sample["guidance"] == 4.0
    assert "label_embed.weight" in weights(run)


@pytest.mark.slow
def test_two_workers_train_a_conditional_run_as_one_process_does(tmp_path, small_data, tiny_config):
    from distributed_support import TINY, diffdash, step_losses

    runs = tmp_path / "runs"
    args = ("--cond", "class", "--cond-drop", "0.3", "--epochs", "1", "--nproc", "2", "--name", "two")
    done = subprocess.run(diffdash("new", *TINY, *args, runs=runs), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    two = RunDir(runs / "two")
    assert json.loads(two.config_path.read_text())["world_size"] == 2
    one = RunDir.create(tmp_path / "one", "one")
    config = tiny_config(
        cond="class", cond_drop=0.3, epochs=1, train_limit=1024, val_limit=256, sample_steps=3, precision="fp32",
        sample_every="1",
    )  # fmt: skip
    assert Engine(one, config, data=small_data).run() == "finished"
    # the workers' shards sum in another order than one process's batch: equal to float32 rounding (1e-6 relative)
    assert step_losses(two) == pytest.approx(step_losses(one), rel=1e-6)
    a, b = weights(one), weights(two)
    assert all(torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-6) for k in a), "the label table trains alike"
