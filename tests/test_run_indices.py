"""Run indices move when a run is removed: a command given an index that named another run in the last
`diffdash runs` warns, naming both (on copies of the recorded real runs, through the real CLI)."""

from __future__ import annotations

import json

from click.testing import CliRunner
from runs_data import recorded_runs

from diffdash.cli import cli
from diffdash.store.index_memory import LISTING_FILE


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_index_that_moved_after_rm_warns_naming_both(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    recorded_runs(root, ("small", "wide", "deep"))
    monkeypatch.setenv("DIFFDASH_RUNS", str(root))
    listed = invoke("runs")
    assert listed.exit_code == 0, listed.output
    shown = json.loads((root / LISTING_FILE).read_text())["runs"]
    assert len(shown) == 3 and set(shown.values()) == {"small", "wide", "deep"}
    first, second = shown["1"], shown["2"]
    same = invoke("diff", "1", "2")
    assert same.exit_code == 0 and "warning" not in same.stderr  # nothing moved: no word
    assert invoke("rm", first).exit_code == 0
    moved = invoke("diff", "1", "2")
    assert moved.exit_code == 0, moved.output
    assert f"warning: index 1 is now {second}; the last `diffdash runs` listed {first} as 1" in moved.stderr
    assert "no longer in the runs folder" in moved.stderr
    assert f"listed {second} as 2 (now index 1)" in moved.stderr
    assert invoke("runs").exit_code == 0  # a fresh listing: the new indices are the ones a person saw
    again = invoke("diff", "1", "2")
    assert again.exit_code == 0 and "warning" not in again.stderr


def test_names_and_a_runs_folder_without_a_listing_never_warn(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    recorded_runs(root, ("small", "wide"))
    monkeypatch.setenv("DIFFDASH_RUNS", str(root))
    result = invoke("diff", "1", "2")
    assert result.exit_code == 0 and "warning" not in result.stderr
    (root / LISTING_FILE).write_text("{not json")  # a damaged record is no record
    result = invoke("diff", "small", "2")
    assert result.exit_code == 0 and "warning" not in result.stderr
