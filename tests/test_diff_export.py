"""`diffdash diff` and `diffdash export` on real runs (the recorded tiny trainings)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from diffdash.cli import cli
from diffdash.runs.history import read_history


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_diff_shows_only_differences(runs):
    result = invoke("diff", "small", "deep")
    assert result.exit_code == 0
    lines = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()[1:]}
    assert result.output.splitlines()[0].split() == ["small", "deep"]
    assert lines["n_hidden"] == ["4,8,4", "4,8,8,4"]
    assert lines["batch_size"] == ["64", "128"]
    assert lines["parameters"] == ["66,237", "81,925"]
    for same in ("lr", "n_T", "model", "dataset", "sample_steps"):
        assert same not in lines


def test_diff_three_runs_json(runs):
    result = invoke("diff", "1", "2", "3", "--json")
    data = json.loads(result.output)
    assert data["runs"] == ["small", "wide", "deep"]
    assert data["differences"]["parameters"] == [66237, 101497, 81925]
    assert data["differences"]["eval_every"] == [1, 1, None]


def test_diff_identical_configs(runs, tmp_path):
    import shutil

    shutil.copytree(runs[0].path, tmp_path / "runs" / "small-copy")
    result = invoke("diff", "small", "small-copy")
    assert result.exit_code == 0 and "no differences in config between small, small" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["diff", "small"], "give at least 2 runs"),
        (["diff", "small", "1"], "are the same run"),
        (["diff", "x", "1"], "no run"),
    ],
)
def test_diff_bad_input_exits_2(runs, args, message):
    result = invoke(*args)
    assert result.exit_code == 2 and message in result.output


def test_export_csv_is_one_row_per_epoch(runs):
    result = invoke("export", "small", "deep")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert list(rows[0]) == [
        "run", "epoch", "step", "images", "time", "train_loss", "val_loss", "seconds", "images_per_s", "fid"
    ]  # fmt: skip
    assert [(r["run"], r["epoch"]) for r in rows] == [("small", str(e)) for e in (1, 2, 3)] + [
        ("deep", str(e)) for e in (1, 2, 3)
    ]
    h = read_history(runs[0])
    assert [float(r["val_loss"]) for r in rows[:3]] == h.val_loss
    assert [float(r["fid"]) for r in rows[:3]] == [e["fid"] for e in h.evals]
    assert rows[3]["fid"] == "" and rows[3]["step"] == "8"


def test_export_json_steps_and_file(runs, tmp_path):
    out = tmp_path / "wide.json"
    result = invoke("export", "wide", "--json", "--steps", "-o", str(out))
    assert result.exit_code == 0 and "wrote 48 rows" in result.output
    rows = json.loads(out.read_text())
    h = read_history(runs[1])
    assert [r["loss"] for r in rows] == h.step_loss and rows[-1]["step"] == 48 and rows[0]["run"] == "wide"


def test_export_bad_reference_writes_nothing(runs, tmp_path):
    out = tmp_path / "x.csv"
    result = invoke("export", "small", "nope", "-o", str(out))
    assert result.exit_code == 2 and not out.exists()


def test_export_csv_and_json_together_exit_2(runs, tmp_path):
    out = tmp_path / "both.csv"
    result = invoke("export", "small", "--csv", "--json", "-o", str(out))
    assert result.exit_code == 2 and "--csv and --json exclude each other" in result.output
    assert not out.exists()
    assert invoke("export", "small", "--json").output.lstrip().startswith("[")
    assert invoke("export", "small", "--csv").output.startswith("run,epoch,")


def test_diff_shows_the_data_used_and_warns_on_other_validation_sets(runs):
    config = json.loads(runs[2].config_path.read_text())
    config["dataset"] = "mnist"  # asked for full MNIST, fell back offline to the bundled subset
    config["data"]["fallback_from"] = "/home/x/.cache/diffdash/data"
    config["n_val"] = 128
    runs[2].write_config(config)
    result = CliRunner().invoke(cli, ["diff", "small", "deep"])
    assert result.exit_code == 0
    keys = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert "dataset" not in keys and "data.name" not in keys  # both trained on mnist-small
    assert "n_val" in keys and keys[-1] == "data.fallback_from"  # where data came from: last
    assert "validation sets differ (small 256 of mnist-small, deep 128 of mnist-small)" in result.stderr
