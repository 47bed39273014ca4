"""A training process killed with SIGKILL is listed as crashed and resumes to the uninterrupted result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from diffdash.runs.history import read_history
from diffdash.store import RunDir

ARGS = [
    "--dataset",
    "mnist-small",
    "--n-hidden",
    "4,8,4",
    "--train-limit",
    "256",
    "--val-limit",
    "64",
    "--n-T",
    "50",
    "--sample-steps",
    "2",
    "--batch-size",
    "32",
    "--headless",
    "--device",
    "cpu",
    "--epochs",
    "6",
    "--sample-every",
    "3",
]


def diffdash(*args, runs):
    return [sys.executable, "-m", "diffdash", *args, "--runs-dir", str(runs)]


def test_sigkill_reads_as_crashed_and_resumes(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        diffdash("new", *ARGS, "--name", "victim", runs=runs), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    run = RunDir(runs / "victim")
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if run.last_checkpoint.is_file() and any(e["event"] == "step" and e["epoch"] == 3 for e in run.events()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "training finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert run.read_status()["state"] == "crashed"

    done = subprocess.run(diffdash("resume", "victim", runs=runs), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert run.read_status()["state"] == "finished"

    subprocess.run(diffdash("new", *ARGS, "--name", "clean", runs=runs), check=True, capture_output=True, timeout=300)
    a, b = read_history(run), read_history(RunDir(runs / "clean"))
    assert a.epoch == b.epoch == [1, 2, 3, 4, 5, 6]
    assert a.val_loss == b.val_loss and a.train_loss == b.train_loss
    assert a.step == b.step and a.step_loss == b.step_loss, "steps logged after the checkpoint were dropped"
