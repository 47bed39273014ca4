"""Summary rows from real run folders, and every kind of damage listed with a reason instead of an error."""

from __future__ import annotations

import json

import pytest
from runs_data import RECORDED, copy_run, dead_pid, running_status

from diffdash.runs.history import read_history
from diffdash.runs.summary import DAMAGED, summarize, summarize_all
from diffdash.store import RunDir, resolve_run


@pytest.fixture(scope="module")
def pair():
    """Real tiny runs recorded in tests/data: (4,8,4) and (4,8,8,4), 3 epochs each."""
    return [RECORDED / "small", RECORDED / "deep"]


def test_summary_of_a_finished_run_matches_its_history(trained_run):
    run = RunDir(trained_run)
    s = summarize(run, 1)
    h = read_history(run)
    assert s.status == "finished" and s.damaged is None and s.index == 1
    assert s.model == "ddpm" and s.n_hidden == [4, 8, 4] and s.name == "small"
    assert s.epoch == 2 and s.epochs == 2 and s.parameters == run.read_config()["parameters"]
    assert (s.best_val, s.best_epoch) == h.best_val
    assert s.last_val == h.val_loss[-1]
    assert s.duration is not None and s.duration > 0 and s.started is not None


def test_not_a_run_folder(tmp_path):
    (tmp_path / "holiday-photos").mkdir()
    s = summarize(RunDir(tmp_path / "holiday-photos"))
    assert s.status == DAMAGED and "not a run" in s.damaged


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda r: r.config_path.write_text('{"model": "ddpm", "n_hid'), "config.json is not valid JSON"),
        (lambda r: r.config_path.unlink(), "config.json is missing"),
        (lambda r: r.config_path.write_text("[1, 2]"), "config.json is not a JSON object"),
        (lambda r: r.metrics_path.write_bytes(r.metrics_path.read_bytes()[:-7]), "ends in a truncated line"),
        (lambda r: r.metrics_path.unlink(), "metrics.jsonl is missing"),
        (lambda r: r.metrics_path.write_bytes(r.metrics_path.read_bytes() + b"garbage\n"), "not a JSON event"),
        (lambda r: r.status_path.write_bytes(b"\xff\xfe\x00"), "status.json is not text"),
    ],
    ids=["bad-config", "no-config", "config-list", "truncated", "no-metrics", "bad-line", "binary-status"],
)
def test_damage_is_a_reason_not_an_error(pair, tmp_path, damage, reason):
    run = copy_run(pair[0], tmp_path, "r")
    damage(run)
    s = summarize(run)
    assert s.status == DAMAGED
    assert reason in s.damaged


def test_unreadable_status_falls_back_to_the_metrics(pair, tmp_path):
    run = copy_run(pair[1], tmp_path, "r")
    run.status_path.write_text('{"state": "finis')
    s = summarize(run)
    h = read_history(run)
    assert s.status == DAMAGED and "status.json is not valid JSON" in s.damaged
    assert s.state == "finished" and (s.best_val, s.best_epoch) == h.best_val and s.epoch == 3


def test_a_live_run_mid_append_is_not_damaged(pair, tmp_path):
    run = copy_run(pair[0], tmp_path, "r", **running_status())
    with open(run.metrics_path, "a") as f:
        f.write('{"event":"step","epoch":3,"st')  # the writer is half way through a line
    s = summarize(run)
    assert s.status == "running" and s.damaged is None


def test_a_dead_running_run_is_crashed(pair, tmp_path):
    run = copy_run(pair[0], tmp_path, "r", state="running", pid=dead_pid())
    s = summarize(run)
    assert s.status == "crashed" and s.error == "training process is gone"


def test_summarize_all_uses_the_reference_index(pair, tmp_path):
    root = tmp_path / "runs"
    for i, run_id in enumerate(["zeta", "alpha", "mid"]):
        run = copy_run(pair[0], root, run_id)
        status = json.loads(run.status_path.read_text())
        run.write_status({**status, "started": 1000.0 + i})
    (root / "not-a-run").mkdir()
    (root / ".trash").mkdir()
    rows = summarize_all(root)
    assert [r.id for r in rows] == ["zeta", "alpha", "mid", "not-a-run"]
    assert [r.index for r in rows] == [1, 2, 3, None]
    for r in rows[:3]:
        assert resolve_run(root, str(r.index)).id == r.id
