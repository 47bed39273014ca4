"""Checks that agree with each other: what `sample --steps` refuses, `new --sample-steps` refuses too; a
non-finite --progress-every, an absurd epoch count in a study or a grid of thousands of runs (without --yes)
are refused with one line; `runs` lists a run whose checkpoint `sample`/`eval`/`resume` refuse as damaged."""

from __future__ import annotations

import json
import os
import pickle

import pytest
from fault_support import TINY, copy_run, invoke, refused


def test_new_refuses_what_sample_refuses_and_non_finite_seconds(tmp_path):
    runs = tmp_path / "runs"
    refused(invoke("new", *TINY, "--sample-steps", "100000000", runs=runs), "--sample-steps", "1..50")
    refused(invoke("new", *TINY, "--progress-every", "nan", runs=runs), "--progress-every", "finite")
    refused(invoke("new", *TINY, "--progress-every", "inf", runs=runs), "--progress-every", "finite")
    refused(invoke("new", *TINY, "--epochs", "100000000000000", runs=runs), "epochs must be at most 1000000")
    assert not runs.exists() or not any(runs.iterdir()), "nothing was made"


def study_file(tmp_path, body: str):
    path = tmp_path / "s.toml"
    path.write_text('[study]\nname = "s"\n[defaults]\ndataset = "mnist-small"\n' + body)
    return path


@pytest.mark.parametrize("epochs", ["1e14", "100000000000000"])
def test_a_study_with_absurd_epochs_is_refused(tmp_path, epochs):
    path = study_file(tmp_path, f"epochs = {epochs}\n[runs.a]\nn_hidden = [4]\n")
    refused(invoke("study", "run", str(path), "--headless", runs=tmp_path / "runs"), "defaults.epochs")


def test_a_study_file_cannot_write_outside_its_folder(tmp_path):
    for value in ("/tmp/anywhere", "../up", "~/tb"):
        path = study_file(tmp_path, f'tensorboard = "{value}"\n[runs.a]\nn_hidden = [4]\n')
        refused(invoke("study", "status", str(path), runs=tmp_path / "runs"), "defaults.tensorboard", "study's folder")
    path = study_file(tmp_path, 'tensorboard = "tb/s"\n[runs.a]\nn_hidden = [4]\n')
    result = invoke("study", "status", str(path), runs=tmp_path / "runs")
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_a_grid_of_more_than_1000_runs_needs_yes(tmp_path):
    grid = (
        "[grid]\nlr = [" + ", ".join(f"{i}e-4" for i in range(1, 42)) + "]\nbatch_size = " + str(list(range(8, 33)))
    )  # 41 x 25 = 1025 runs
    path = study_file(tmp_path, grid)
    line = refused(invoke("study", "run", str(path), "--headless", runs=tmp_path / "runs"), "--yes", "1025 runs")
    assert "more than 1000" in line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def damage(kind: str, path) -> None:
    data = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "random":
        path.write_bytes(os.urandom(len(data)))
    elif kind == "empty":
        path.write_bytes(b"")
    else:  # a plain pickle, as an attacker or another tool would write
        path.write_bytes(pickle.dumps({"model": {}}))


@pytest.mark.parametrize("kind", ["truncated", "random", "empty", "pickle"])
def test_runs_lists_a_run_with_a_damaged_checkpoint_as_damaged(template_run, tmp_path, kind):
    root = tmp_path / "runs"
    run = copy_run(template_run, root)
    result = invoke("runs", "--json", runs=root)
    assert json.loads(result.output)[0]["status"] == "finished"
    damage(kind, run / "checkpoints" / "last.pt")
    row = json.loads(invoke("runs", "--json", runs=root).output)[0]
    assert row["status"] == "damaged" and "last.pt" in row["damaged"], row
    refused(invoke("sample", run.name, "-n", "4", runs=root), "last.pt")  # and sample agrees
