"""`--eval-every` during training and `diffdash eval` on a tiny trained run: events, figures, bad input."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from diffdash.cli import cli
from diffdash.metrics.evaluate import auto_eval_n
from diffdash.runs.history import read_history
from diffdash.store import RunDir
from diffdash.training import Engine

SCHEMA = {"event", "epoch", "step", "images", "time", "fid", "fid_kind", "histogram", "confidence", "n"}
SCHEMA |= {"sampler", "steps", "weights"}


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory, small_data, tiny_config, small_classifier):
    """A tiny EMA run with --eval-every 1 --eval-n 24 --keep-snapshots, its classifier in DIFFDASH_DATA."""
    _, cache = small_classifier
    mp = pytest.MonkeyPatch()
    mp.setenv("DIFFDASH_DATA", str(cache))
    root = tmp_path_factory.mktemp("runs")
    run = RunDir.create(root, "tiny")
    config = tiny_config(ema=0.9, eval_every=1, eval_n=24, keep_snapshots=True)
    assert Engine(run, config, data=small_data).run() == "finished"
    yield run, root, cache
    mp.undo()


def test_eval_every_writes_eval_events(evaluated_run):
    run, _, _ = evaluated_run
    evals = read_history(run).evals
    assert [e["epoch"] for e in evals] == [1, 2]
    for e in evals:
        assert set(e) >= SCHEMA, SCHEMA - set(e)
        assert e["fid_kind"] == "mnist-classifier" and e["weights"] == "ema" and e["n"] == 24
        assert len(e["histogram"]) == 10 and sum(e["histogram"]) == 24
        assert e["fid"] > 0 and 0.1 <= e["confidence"] <= 1 and e["sampler"] == "ddim" and e["steps"] == 5
    assert (run.checkpoints_dir / "epoch_0001.pt").is_file() and (run.checkpoints_dir / "epoch_0002.pt").is_file()


def test_eval_command_reproduces_the_training_figure_and_appends(evaluated_run, monkeypatch):
    run, root, cache = evaluated_run
    monkeypatch.setenv("DIFFDASH_DATA", str(cache))
    before = run.metrics_path.read_bytes()
    result = CliRunner().invoke(cli, ["eval", "tiny", "--runs-dir", str(root), "--epoch", "1", "-n", "24"])
    assert result.exit_code == 0, result.output
    assert "FID (MNIST classifier)" in result.output and "EMA weights" in result.output
    assert "Inception" not in result.output
    after = run.metrics_path.read_bytes()
    assert after.startswith(before) and after.count(b"\n") == before.count(b"\n") + 1, "one line appended"
    evals = read_history(run).evals
    training, command = evals[0], evals[-1]
    assert command["epoch"] == 1 and command["step"] == training["step"] and command["checkpoint"] == "epoch_0001.pt"
    assert command["fid"] == training["fid"] and command["histogram"] == training["histogram"], "same seed, same n"
    assert command["fid_real"] > 0 and command["dataset"] == "mnist-small"

    raw = CliRunner().invoke(cli, ["eval", "tiny", "--runs-dir", str(root), "-n", "24", "--no-ema", "--no-write"])
    assert raw.exit_code == 0, raw.output
    assert "raw weights" in raw.output and "epoch 2" in raw.output
    assert run.metrics_path.read_bytes() == after, "--no-write writes nothing"


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--epoch", "7"], "epochs available: 1, 2"),
        (["--epoch", "1", "--checkpoint", "x.pt"], "not both"),
        (["-n", "1"], "must lie in 2.."),
        (["--steps", "0"], "--steps"),
        (["--sampler", "euler"], "ancestral, ddim"),
        (["--checkpoint", "missing.pt"], "no checkpoint file"),
    ],
)
def test_eval_bad_input_exits_2_and_writes_nothing(evaluated_run, args, needle):
    run, root, _ = evaluated_run
    before = run.metrics_path.read_bytes()
    result = CliRunner().invoke(cli, ["eval", "tiny", "--runs-dir", str(root), *args])
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert run.metrics_path.read_bytes() == before


def test_ema_flag_on_a_run_without_ema(tmp_path, small_data, tiny_config):
    run = RunDir.create(tmp_path, "plain")
    assert Engine(run, tiny_config(epochs=1), data=small_data).run() == "finished"
    result = CliRunner().invoke(cli, ["eval", "plain", "--runs-dir", str(tmp_path), "--ema", "-n", "8"])
    assert result.exit_code == 2 and "no EMA weights" in result.output


def test_auto_eval_n_keeps_to_a_tenth_of_training():
    # full MNIST, DDIM 50, every epoch: 0.1 * 3 * 60000 / 50 = 360 samples
    assert auto_eval_n(60_000, 1, 50) == 360
    assert auto_eval_n(60_000, 5, 50) == 1000, "capped"
    assert auto_eval_n(256, 1, 1000) == 100, "floored: FID needs some samples"


def test_eval_on_a_cold_run_adds_reconstruction_figures(
    tmp_path, small_data, monkeypatch, tiny_config, small_classifier
):
    _, cache = small_classifier
    monkeypatch.setenv("DIFFDASH_DATA", str(cache))
    run = RunDir.create(tmp_path, "cold")
    config = tiny_config(model="cold", n_T=4, epochs=1, sampler="alg2", sample_steps=4)
    assert Engine(run, config, data=small_data).run() == "finished"
    result = CliRunner().invoke(cli, ["eval", "cold", "--runs-dir", str(tmp_path), "-n", "16"])
    assert result.exit_code == 0, result.output
    assert "degraded" in result.output and "SSIM" in result.output
    event = read_history(run).evals[-1]
    assert set(event["recon"]) == {"degraded", "direct", "sampled"}
    for row in event["recon"].values():
        assert row["rmse"] > 0 and -1 <= row["ssim"] < 1
    assert event["sampler"] == "alg2" and sum(event["histogram"]) == 16
