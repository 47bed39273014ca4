"""A study made of the recorded real runs (tests/data/compare_runs): members small, wide and deep, and a
fourth member, later, that has not started."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from runs_data import RECORDED

from diffdash.study import load_study

STUDY = """
[study]
name = "rec"
[defaults]
dataset = "mnist-small"
epochs = 3
train_limit = 1024
val_limit = 256
n_T = 100
sample_steps = 10
batch_size = 64
[runs.small]
n_hidden = [4, 8, 4]
[runs.wide]
n_hidden = [8, 16, 8]
[runs.deep]
n_hidden = [4, 8, 8, 4]
batch_size = 128
[runs.later]
n_hidden = [4, 4, 4]
"""


def recorded_study(tmp_path: Path):
    """The study file and a runs folder holding copies of the recorded runs as its members small, wide, deep."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "rec.toml").write_text(STUDY)
    root = tmp_path / "runs"
    for name in ("small", "wide", "deep"):
        dst = root / f"rec-{name}"
        shutil.copytree(RECORDED / name, dst)
        config = json.loads((dst / "config.json").read_text())
        config.update(study="rec", name=dst.name)
        (dst / "config.json").write_text(json.dumps(config))
    return load_study(tmp_path / "rec.toml"), root
