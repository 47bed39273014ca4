"""Seed groups drawn as a mean with a band: `study report` on a study whose members have `seeds`, and
`compare --group-by KEY`, on copies of the recorded real runs (tests/data/compare_runs)."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner
from runs_data import RECORDED

from diffdash.cli import cli
from diffdash.compare.bands import Group, GroupRun, spread_sentence
from diffdash.runs.history import read_history
from diffdash.store import RunDir

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
[runs.narrow]
seeds = 2
n_hidden = [4, 8, 4]
[runs.wide]
seeds = 2
n_hidden = [8, 16, 8]
"""
# which recorded run stands in for which seed (their histories are real; only the grouping is made up)
FOLDERS = {"narrow-s0": "small", "narrow-s1": "deep", "wide-s0": "wide", "wide-s1": "small"}


def best_vals(names: list[str]) -> list[float]:
    return [read_history(RunDir(RECORDED / n)).best_val[0] for n in names]


@pytest.fixture
def seeded(tmp_path: Path):
    (tmp_path / "rec.toml").write_text(STUDY)
    root = tmp_path / "runs"
    for member, source in FOLDERS.items():
        dst = root / f"rec-{member}"
        shutil.copytree(RECORDED / source, dst)
        config = json.loads((dst / "config.json").read_text())
        config.update(study="rec", name=dst.name)
        (dst / "config.json").write_text(json.dumps(config))
    return tmp_path / "rec.toml", root


def test_study_report_draws_seed_groups_with_bands_and_says_if_the_difference_exceeds_the_spread(seeded, tmp_path):
    study, root = seeded
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["study", "report", str(study), "--runs-dir", str(root), "-o", str(out)])
    assert result.exit_code == 0, result.output
    index = (out / "index.md").read_text()
    assert "## Seed groups" in index and (out / "seeds_bands.png").stat().st_size > 10_000
    narrow, wide = best_vals(["small", "deep"]), best_vals(["wide", "small"])
    for values in (narrow, wide):
        shown = f"{statistics.fmean(values):.5f} ± {statistics.stdev(values):.5f} (n=2)"
        assert shown in index, index
    diff = abs(statistics.fmean(narrow) - statistics.fmean(wide))
    spread = statistics.stdev(narrow) + statistics.stdev(wide)
    verdict = "exceeds their spread" if diff > spread else "does not exceed their spread"
    assert "**narrow** vs **wide**: best validation loss is lower" in index and verdict in index


def test_spread_sentence_says_exceeds_only_when_the_means_are_further_apart_than_the_spreads():
    runs = [GroupRun(n, read_history(RunDir(RECORDED / n))) for n in ("small", "wide", "deep")]
    same = Group("a", [runs[0], runs[0]])  # std 0: any difference exceeds it
    other = Group("b", [runs[1], runs[1]])
    assert "exceeds their spread" in spread_sentence(same, other)
    wide_spread = Group("c", [runs[0], runs[1]])  # spans both, so its spread covers the difference to either
    assert "does not exceed" in spread_sentence(wide_spread, Group("d", [runs[0], runs[1], runs[0]]))
    assert "single run" in spread_sentence(Group("e", [runs[2]]), other)


def test_compare_group_by_a_config_key(seeded, tmp_path):
    _, root = seeded
    refs = [f"rec-{m}" for m in FOLDERS]
    png = tmp_path / "bands.png"
    args = ["compare", *refs, "--runs-dir", str(root), "--group-by", "n_hidden", "--band", "minmax", "-o", str(png)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    # small and the small copy share n_hidden 4,8,4; deep is 4,8,8,4; wide is 8,16,8
    assert "n_hidden=4,8,4    2" in result.output and "n_hidden=8,16,8   1" in result.output, result.output
    assert "band is mean, band min–max" in result.output and png.stat().st_size > 10_000
    seeds = CliRunner().invoke(cli, ["compare", *refs, "--runs-dir", str(root), "--group-by", "group"])
    assert seeds.exit_code == 0 and "group=rec-narrow-s0" in seeds.output  # no study.json: each run alone
    bad = CliRunner().invoke(cli, ["compare", *refs, "--runs-dir", str(root), "--group-by", "n_hiden"])
    assert bad.exit_code == 2 and "--group-by" in bad.output and "n_hiden" in bad.output
