"""Findings of the adversarial trial on searches: a damaged Optuna storage (search.sqlite3 cut short by a full
disk or a copy, or overwritten) is one line and exit 2 in `study status`, `report` and `run`, not SQLAlchemy's
traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_support import crashed, invoke

pytest.importorskip("optuna", reason="the search extra is not installed")

STUDY = (
    '[study]\nname = "s"\n[defaults]\ndataset = "mnist-small"\nepochs = 1\ntrain_limit = 64\n'
    "[search]\ntrials = 2\n[search.params]\nlr = { low = 1e-4, high = 3e-3, log = true }\n"
)


def damaged_storages(tmp_path: Path):
    """A real storage made by Optuna (no trial trained), cut short; and one overwritten with text."""
    from diffdash.study import load_study
    from diffdash.study.search_trials import open_search, storage_path

    (tmp_path / "s.toml").write_text(STUDY)
    study = load_study(tmp_path / "s.toml")
    root = tmp_path / "runs"
    open_search(study, root, create=True)
    path = storage_path(root, study)
    whole = path.read_bytes()
    assert len(whole) > 8192, len(whole)
    yield "cut short", root, path, whole[:3000]
    yield "overwritten", root, path, b"not a database\n"


def test_a_damaged_search_storage_is_one_line_and_exit_2(tmp_path):
    for kind, root, path, damaged in damaged_storages(tmp_path):
        path.write_bytes(damaged)
        for args in (["status"], ["status", "--json"], ["report", "-o", str(tmp_path / "rep")], ["run", "--headless"]):
            result = invoke("study", args[0], str(tmp_path / "s.toml"), *args[1:], runs=root)
            assert crashed(result) is None, (kind, args, crashed(result))
            assert result.exit_code == 2, (kind, args, result.output)
            line = result.output.strip().splitlines()[-1]
            assert str(path) in line and "is damaged" in line, (kind, args, line)
        assert path.read_bytes() == damaged, "the damaged file is left as it was, for the user to look at"
        assert sorted(p.name for p in root.iterdir()) == [".studies"], "no trial was started"
        assert not (tmp_path / "rep").exists()
