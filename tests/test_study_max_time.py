"""Studies at an equal training time: studies/networks.toml is valid as written, and a member stopped by its
--max-time is done (the study counts it finished and running the study again has nothing to do), not a failure
to resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from diffdash.study.spec import load_study

ROOT = Path(__file__).resolve().parent.parent

STUDY = """
[study]
name = "budget"

[defaults]
dataset = "mnist-small"
n_hidden = [4, 8, 4]
train_limit = 128
val_limit = 64
n_T = 50
sample_steps = 2
batch_size = 64
epochs = 50
max_time = "0.5s"
threads = 1

[runs.cnn]
net = "cnn"
"""


def test_the_networks_study_is_valid_as_written():
    study = load_study(ROOT / "studies" / "networks.toml")
    members = {m.name: m.params for m in study.members}
    assert list(members) == ["ddpm-cnn", "ddpm-unet-16", "ddpm-unet-32", "cold-k13-s7-cnn", "cold-k13-s7-unet"]
    assert {p["max_time"] for p in members.values()} == {"30m"} and {p["eval_every"] for p in members.values()} == {1}
    assert [p["net"] for p in members.values()] == ["cnn", "unet", "unet", "cnn", "unet"]
    assert members["ddpm-unet-32"]["unet_channels"] == "32,64,128"  # as `new` reads --unet-channels
    heavy = members["cold-k13-s7-unet"]
    assert (heavy["model"], heavy["kernel_size"], heavy["kernel_std"]) == ("cold", 13, 7.0)
    from diffdash.study.members import expected_config

    assert [expected_config(m)["lr"] for m in study.members] == [1e-3] * 5, "one lr for every network"


def diffdash(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DIFFDASH_RUNS": "/nonexistent-runs-dir"}
    return subprocess.run(
        [sys.executable, "-m", "diffdash", *args], capture_output=True, text=True, env=env, timeout=300,
        stdin=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip


def test_a_member_stopped_by_its_max_time_is_done(tmp_path):
    file, runs = tmp_path / "budget.toml", tmp_path / "runs"
    file.write_text(STUDY)
    first = diffdash("study", "run", str(file), "--runs-dir", str(runs), "--headless")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "cnn: finished (" in first.stdout and "its --max-time is spent" in first.stdout, first.stdout
    assert "all 1 runs finished" in first.stdout
    status = json.loads((runs / "budget-cnn" / "status.json").read_text())
    assert (status["state"], status["reason"]) == ("stopped", "max-time") and status["epoch"] < 50

    again = diffdash("study", "run", str(file), "--runs-dir", str(runs), "--headless")
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr
    listed = diffdash("study", "status", str(file), "--runs-dir", str(runs))
    assert "budget: 1/1 finished" in listed.stdout, listed.stdout
