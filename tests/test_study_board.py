"""The study board driven with Pilot on the recorded real runs (tests/data/compare_runs) made members of a study,
one member not started yet, one followed while its metrics grow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pilot_support import wait_for
from runs_data import running_status
from study_support import recorded_study

from diffdash.ui.study_app import StudyBoard


def board(tmp_path: Path, poll_s: float = 60.0) -> StudyBoard:
    study, root = recorded_study(tmp_path)
    return StudyBoard(study, root, poll_s=poll_s)


async def test_rows_show_each_run(tmp_path):
    app = board(tmp_path)
    async with app.run_test(size=(130, 30)) as pilot:
        await pilot.pause()
        rows = {r.member: r for r in app.rows}
        assert [r.member for r in app.rows] == ["small", "wide", "deep", "later"]
        assert [rows[m].state for m in ("small", "wide", "deep", "later")] == ["finished"] * 3 + ["pending"]
        assert rows["small"].best_epoch == 3 and rows["small"].best_val == pytest.approx(0.7551113665103912)
        assert rows["wide"].fid is not None and rows["wide"].fid_epoch == 3 and rows["deep"].fid is None
        assert not any(rows[m].changed for m in rows)
        table = app.query_one("#runs")
        cells = [str(c) for c in table.get_row("small")]
        assert "0.75511 @3" in cells and any(len(c) == 3 and set(c) <= set("▁▂▃▄▅▆▇█") for c in cells)
        title = str(app.query_one("#title").render())
        assert "3/4 finished" in title and "ETA" in title


async def test_enter_opens_the_dashboard_and_c_compares_the_selected(tmp_path):
    app = board(tmp_path)
    async with app.run_test(size=(130, 30)) as pilot:
        await pilot.press("down", "down", "down", "enter")  # "later" has no folder yet: stays on the board
        await pilot.pause()
        assert app.is_running and app.return_value is None
        await pilot.press("up", "up", "up", "enter")
    assert app.return_value == ("watch", ["rec-small"])

    app = board(tmp_path / "again")
    async with app.run_test(size=(130, 30)) as pilot:
        await pilot.press("c")  # nothing selected: a notice, no exit
        await pilot.pause()
        assert app.is_running
        await pilot.press("space", "down", "down", "space", "c")
    assert app.return_value == ("compare", ["rec-small", "rec-deep"])


async def test_a_live_run_is_followed(tmp_path):
    study, root = recorded_study(tmp_path)
    deep = root / "rec-deep"
    lines = (deep / "metrics.jsonl").read_text().splitlines(keepends=True)
    last_epoch = max(i for i, line in enumerate(lines) if '"event":"epoch"' in line and '"epoch":3' in line)
    (deep / "metrics.jsonl").write_text("".join(lines[:last_epoch]))
    status = json.loads((deep / "status.json").read_text())
    (deep / "status.json").write_text(json.dumps({**status, **running_status(), "epoch": 2}))
    app = StudyBoard(study, root, poll_s=0.2)
    async with app.run_test(size=(130, 30)) as pilot:
        await pilot.pause()
        row = next(r for r in app.rows if r.member == "deep")
        assert (row.state, row.epoch) == ("running", 2)
        assert "1 running" in str(app.query_one("#title").render())
        with open(deep / "metrics.jsonl", "a") as f:
            f.writelines(lines[last_epoch:])
        assert await wait_for(pilot, lambda: next(r for r in app.rows if r.member == "deep").epoch == 3, 10)
        assert "3/3" in str(app.query_one("#runs").get_row("deep")[4])


def test_snapshot(snap_compare, tmp_path):
    assert snap_compare(board(tmp_path), terminal_size=(130, 24))
