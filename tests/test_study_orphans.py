"""A key added to a study's [grid] renames its members: `study status` and `study run` say which finished runs
no longer match the file and what changed, rather than showing new pending members without a word. The
study's runs are copies of the recorded real runs, tagged as `study run` tags them."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner
from runs_data import RECORDED

from diffdash.cli import cli
from diffdash.store import RunDir
from diffdash.study import load_study
from diffdash.study.members import write_tag

GRID = """
[study]
name = "g"
[defaults]
dataset = "mnist-small"
epochs = 3
train_limit = 1024
val_limit = 256
n_T = 100
[grid]
n_hidden = [[4, 8, 4], [8, 16, 8]]
"""


def grid_study(tmp_path):
    """The study file and its two finished members, trained before the file changed."""
    path = tmp_path / "g.toml"
    path.write_text(GRID)
    study = load_study(path)
    root = tmp_path / "runs"
    for member, recorded in zip(study.members, ("small", "wide"), strict=True):
        dst = root / member.run_id
        shutil.copytree(RECORDED / recorded, dst, ignore=shutil.ignore_patterns("*.pt"))
        config = json.loads((dst / "config.json").read_text())
        config.update(study="g", name=dst.name)
        (dst / "config.json").write_text(json.dumps(config))
        write_tag(RunDir(dst), study, member)
    return path, root


def test_added_grid_key_names_the_runs_it_leaves_out(tmp_path):
    path, root = grid_study(tmp_path)
    before = CliRunner().invoke(cli, ["study", "status", str(path), "--runs-dir", str(root)])
    assert before.exit_code == 0 and "not in the file" not in before.output
    path.write_text(GRID + "batch_size = [64]\n")
    status = CliRunner().invoke(cli, ["study", "status", str(path), "--runs-dir", str(root)])
    assert status.exit_code == 0, status.output
    said = [line for line in status.output.splitlines() if line.startswith("not in the file: ")]
    assert len(said) == 2
    assert said[0] == (
        "not in the file: g-n-hidden4-8-4 (finished, epoch 3) is now n-hidden4-8-4_batch-size64 in the file: "
        "batch_size: (default) in the run, 64 in the file"
    )
    as_json = json.loads(CliRunner().invoke(cli, ["study", "status", str(path), "--runs-dir", str(root),
                                                  "--json"]).output)  # fmt: skip
    assert [o["now"] for o in as_json["not_in_file"]] == ["n-hidden4-8-4_batch-size64", "n-hidden8-16-8_batch-size64"]
    run = CliRunner().invoke(cli, ["study", "run", str(path), "--runs-dir", str(root), "--headless"])
    assert run.exit_code == 2, run.output
    assert "no longer names these runs" in run.output and "g-n-hidden8-16-8 (finished, epoch 3)" in run.output
    assert "--restart-changed" in run.output
    started = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    assert started == ["g-n-hidden4-8-4", "g-n-hidden8-16-8"]  # nothing was started


def test_a_member_removed_from_the_file_is_only_named(tmp_path):
    path, root = grid_study(tmp_path)
    path.write_text(GRID.replace("[[4, 8, 4], [8, 16, 8]]", "[[8, 16, 8]]"))
    status = CliRunner().invoke(cli, ["study", "status", str(path), "--runs-dir", str(root)])
    assert status.exit_code == 0
    assert "not in the file: g-n-hidden4-8-4 (finished, epoch 3): no run of the file has its options now (the " \
           "closest, n-hidden8-16-8: n_hidden: 4,8,4 in the run, 8,16,8 in the file)" in status.output  # fmt: skip
    run = CliRunner().invoke(cli, ["study", "run", str(path), "--runs-dir", str(root), "--headless"])
    assert run.exit_code == 0 and "not in the file: g-n-hidden4-8-4" in run.output  # named, nothing to refuse
