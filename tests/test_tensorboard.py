"""TensorBoard bridge: event files for recorded and live runs, read back with TensorBoard's own reader."""

from __future__ import annotations

import io
import json
import math
import shutil
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from runs_data import RECORDED

from diffdash.cli import cli
from diffdash.store import RunDir

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed: pip install 'diffdash[tensorboard]'")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import metadata as hparams_metadata  # noqa: E402

RECORDED_RUNS = ("small", "deep", "wide")


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def read_log(folder) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def scalars(acc: EventAccumulator) -> dict[str, list[tuple[int, float]]]:
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def f32(x: float) -> float:
    """TensorBoard stores scalars as float32."""
    return float(np.float32(x))


def expected_scalars(metrics_jsonl) -> dict[str, list[tuple[int, float]]]:
    """What the event files must hold, read straight from metrics.jsonl (not through diffdash's readers)."""
    events = [json.loads(line) for line in metrics_jsonl.read_text().splitlines() if line.strip()]
    out: dict[str, list[tuple[int, float]]] = {}

    def put(tag: str, step: int, value: float) -> None:
        out.setdefault(tag, []).append((step, f32(value)))

    for e in events:
        if e["event"] == "step":
            put("loss/train_step", e["step"], e["loss"])
            for key in ("lr", "grad_norm"):
                if key in e:
                    put(f"train/{key}", e["step"], e[key])
        elif e["event"] == "system":
            for key in ("cpu_percent", "rss_bytes", "gpu_mem_bytes"):
                if key in e:
                    put(f"system/{key}", e["step"], e[key])
        elif e["event"] == "epoch":
            put("loss/train_epoch", e["step"], e["train_loss"])
            put("loss/val", e["step"], e["val_loss"])
        elif e["event"] == "eval":
            put("quality/fid_mnist_classifier", e["step"], e["fid"])
            put("quality/confidence", e["step"], e["confidence"])
            hist = e["histogram"]
            put("quality/digits_covered", e["step"], sum(c > 0 for c in hist))
            shares = [c / sum(hist) for c in hist if c]
            put("quality/digit_entropy_bits", e["step"], -sum(p * math.log2(p) for p in shares) + 0.0)
    return out


def test_export_of_recorded_runs_reads_back_with_tensorboards_own_reader(tmp_path):
    from PIL import Image

    tb = tmp_path / "tb"
    result = invoke("export", *RECORDED_RUNS, "--runs-dir", str(RECORDED), "--tensorboard", str(tb))
    assert result.exit_code == 0, result.output
    assert f"tensorboard --logdir {tb}" in result.output
    assert sorted(p.name for p in tb.iterdir()) == sorted(RECORDED_RUNS), "one subfolder per run, named after it"
    for name in RECORDED_RUNS:
        run = RECORDED / name
        acc = read_log(tb / name)
        got = scalars(acc)
        want = expected_scalars(run / "metrics.jsonl")
        assert want["loss/train_step"] and want["loss/val"]
        for tag, points in want.items():
            assert got[tag] == points, (name, tag)
        # the final figures, one point each, at the last step
        status = json.loads((run / "status.json").read_text())
        last_step = want["loss/train_step"][-1][0]
        assert got["final/best_val_loss"] == [(last_step, f32(status["best_val"]))]
        assert got["final/last_val_loss"] == [(last_step, want["loss/val"][-1][1])]
        assert got["final/epochs"] == [(last_step, float(status["epoch"]))]
        assert set(got) == set(want) | {t for t in got if t.startswith("final/")}, "no scalar the run did not record"
        # every preview grid, at its step, pixel for pixel
        samples = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        samples = [e for e in samples if e["event"] == "sample"]
        images = acc.Images("samples/preview")
        assert [i.step for i in images] == [e["step"] for e in samples] and len(images) == 3
        for image, e in zip(images, samples, strict=True):
            shown = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)).convert("L"))
            assert np.array_equal(shown, np.asarray(Image.open(run / e["path"]))), (name, e["path"])
        # the options and the final figures, as the HParams tab reads them
        config = json.loads((run / "config.json").read_text())
        plugin = acc.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
        hparams = hparams_metadata.parse_session_start_info_plugin_data(plugin).hparams
        assert hparams["name"].string_value == name
        assert hparams["n_hidden"].string_value == ",".join(map(str, config["n_hidden"]))
        assert hparams["lr"].number_value == config["lr"] and hparams["epochs"].number_value == config["epochs"]
        assert hparams["parameters"].number_value == config["parameters"]
        assert hparams["keep_snapshots"].string_value == "false", "a bool reads as a word, not as 0"
        assert "kernel_std" not in hparams, "a DDPM run leaves out the cold-diffusion options"
        plugin = acc.SummaryMetadata("_hparams_/experiment").plugin_data.content
        experiment = hparams_metadata.parse_experiment_plugin_data(plugin)
        assert {m.name.tag for m in experiment.metric_infos} >= {"final/best_val_loss", "final/last_val_loss"}


def test_export_replaces_its_own_folder_and_refuses_anything_else(tmp_path):
    tb = tmp_path / "tb"
    args = ("export", "small", "--runs-dir", str(RECORDED), "--tensorboard", str(tb))
    assert invoke(*args).exit_code == 0 and invoke(*args).exit_code == 0
    assert len(list((tb / "small").iterdir())) == 1, "exporting again replaces, never doubles every point"
    assert not [p for p in tb.iterdir() if p.name.startswith(".")], "no partial folder left behind"
    (tb / "small" / "notes.txt").write_text("mine")
    result = invoke(*args)
    assert result.exit_code == 2 and "other than TensorBoard event files" in result.output
    assert (tb / "small" / "notes.txt").read_text() == "mine"
    for other in ("--json", "--csv"):  # a format flag beside --tensorboard was once silently ignored
        result = invoke(*args, other)
        assert result.exit_code == 2 and "leave out -o, --csv, --json and --steps" in result.output


def test_an_empty_tensorboard_folder_is_refused_not_the_current_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for blank in ("", " "):
        result = invoke("export", "small", "--runs-dir", str(RECORDED), "--tensorboard", blank)
        assert result.exit_code == 2 and "--tensorboard" in result.output and "is empty" in result.output
    assert list(tmp_path.iterdir()) == [], "nothing written into the current folder"


def test_missing_tensorboard_is_a_clear_usage_error(tmp_path, monkeypatch, runs_dir):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # what an install without the extra looks like
    result = invoke("export", "small", "--runs-dir", str(RECORDED), "--tensorboard", str(tmp_path / "tb"))
    assert result.exit_code == 2 and "pip install 'diffdash[tensorboard]'" in result.output
    result = invoke("new", "--dataset", "mnist-small", "--headless", "--tensorboard", str(tmp_path / "tb"))
    assert result.exit_code == 2 and "--tensorboard" in result.output
    assert not (tmp_path / "tb").exists() and not runs_dir.exists(), "nothing created before the error"


@pytest.mark.slow
def test_live_logs_equal_the_export_across_a_crash_and_resume(tmp_path, small_data, tiny_config):
    """Live logging is the same code as export: after a crash and two kinds of resume, the logs agree."""
    from diffdash.bridges.tensorboard import export_run, live_log
    from diffdash.training import Engine

    root, tb, tbx = tmp_path / "runs", tmp_path / "tb", tmp_path / "tbx"
    config = tiny_config(eval_every=None)
    run = RunDir.create(root, "r")

    def crash_at_step_6(e):
        if e["event"] == "step" and e["step"] == 6:
            raise RuntimeError("simulated crash")  # after the checkpoint at step 4: steps 5-6 are undone

    engine = Engine(run, config, data=small_data, listeners=[live_log(run, tb), crash_at_step_6])
    assert engine.run() == "failed"
    assert [s for s, _ in scalars(read_log(tb / "r"))["loss/train_step"]] == list(range(1, 7)), "logged, then undone"
    shutil.copytree(run.path, root / "r2")
    # r resumes into its existing log (the undone steps are purged); r2 into none (its history is replayed)
    for name in ("r", "r2"):
        result = CliRunner().invoke(
            cli, ["resume", name, "--runs-dir", str(root), "--headless", "--tensorboard", str(tb)]
        )
        assert result.exit_code == 0, result.output
        export_run(RunDir(root / name), tbx)
        live, exported = scalars(read_log(tb / name)), scalars(read_log(tbx / name))
        assert [s for s, _ in live["loss/train_step"]] == list(range(1, 9)), name
        assert live == exported, name
        assert [i.step for i in read_log(tb / name).Images("samples/preview")] == [4, 8]


def test_new_with_tensorboard_logs_while_training(tmp_path):
    result = invoke(
        "new", "--runs-dir", str(tmp_path / "runs"), "--name", "t", "--dataset", "mnist-small", "--headless",
        "--train-limit", "64", "--val-limit", "64", "--n-hidden", "4", "--n-T", "10", "--sample-steps", "2",
        "--epochs", "1", "--batch-size", "32", "--device", "cpu", "--tensorboard", str(tmp_path / "tb"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    got = scalars(read_log(tmp_path / "tb" / "t"))
    want = expected_scalars(tmp_path / "runs" / "t" / "metrics.jsonl")
    assert [s for s, _ in got["loss/train_step"]] == [1, 2]
    assert all(got[tag] == points for tag, points in want.items())


@pytest.mark.slow
def test_a_failing_log_never_stops_training(tmp_path, small_data, tiny_config):
    from diffdash.bridges.tensorboard import live_log
    from diffdash.training import Engine

    run = RunDir.create(tmp_path / "runs", "r")
    (tmp_path / "tb").mkdir()
    (tmp_path / "tb" / "r").write_text("a file where the run's log folder would go")
    said: list[str] = []
    config = tiny_config(epochs=1, train_limit=64, val_limit=64, n_T=10, sample_steps=2)
    assert Engine(run, config, data=small_data, listeners=[live_log(run, tmp_path / "tb", say=said.append)]).run() == (
        "finished"
    )
    assert len(said) == 1 and said[0].startswith("TensorBoard logging stopped:"), said
