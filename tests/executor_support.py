"""Shared by the Slurm and Ray executor tests: tiny study files, the CLI in a child process, waiting for a run's
epochs, and a run's step losses (what a requeued or moved member must reproduce exactly)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from diffdash.store import RunDir

ROOT = Path(__file__).resolve().parent.parent
TINY = """
[study]
name = "{name}"
[defaults]
dataset = "mnist-small"
epochs = {epochs}
batch_size = 32
train_limit = 256
val_limit = 32
n_T = 50
sample_steps = 5
threads = 1
"""
WIDTHS = {"a": "[4, 8, 4]", "b": "[4, 4, 4]", "c": "[8, 8, 8]"}


def study_file(folder: Path, name: str, members: str = "abc", epochs: int = 2, extra: str = "") -> Path:
    text = TINY.format(name=name, epochs=epochs) + extra
    for m in members:
        text += f"[runs.{m}]\nn_hidden = {WIDTHS[m]}\n"
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def cli(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "diffdash", *args],
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )


def start_cli(*args: str, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "diffdash", *args],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )


def epochs_done(run: Path) -> int:
    try:
        return sum(1 for e in RunDir(run).events() if e.get("event") == "epoch")
    except (OSError, ValueError):
        return 0


def wait_for(check, timeout: float, what: str, poll: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def step_losses(run: Path) -> list[tuple[int, float]]:
    """(step, loss) of every step the run kept (steps undone by a resume dropped), in order."""
    return [(e["step"], e["loss"]) for e in RunDir(run).events() if e.get("event") == "step"]


def record(root: Path, study: str, member: str) -> dict:
    return json.loads((root / ".studies" / study / f"{member}.json").read_text())
