"""The run folder under faults: appends after a cut-off line, compaction on resume with live readers,
atomic creation, stale temporary files, a mistyped config shown as damaged."""

from __future__ import annotations

import json
import os

import pytest

from diffdash.runs.history import Follower, History
from diffdash.store import DamagedConfig, RunDir, compact_events, remove_stale_temp_files


def steps(a: int, b: int) -> list[dict]:
    return [{"event": "step", "epoch": 1, "step": s, "loss": 1.0 / s} for s in range(a, b + 1)]


@pytest.fixture
def run(tmp_path):
    return RunDir.create(tmp_path, "r", config={"model": "ddpm"})


def test_an_append_after_a_cut_off_line_starts_a_fresh_line(run):
    run.append_events(steps(1, 3))
    data = run.metrics_path.read_bytes()
    run.metrics_path.write_bytes(data[:-10])  # a crash mid-append
    run.append_events([{"event": "eval", "step": 2, "fid": 1.5}])
    events = run.read_events()[0]
    assert [e["step"] for e in events] == [1, 2, 2] and events[-1]["event"] == "eval"
    assert run.metrics_path.read_bytes().endswith(b'"fid":1.5}\n')


def test_compaction_leaves_one_line_per_step_and_live_readers_follow(run):
    run.append_events([{"event": "start", "step": 0}, *steps(1, 10)])
    with open(run.metrics_path, "ab") as f:
        f.write(b'{"event":"step","ste')  # killed mid-line
    watcher = RunDir(run.path)  # a `watch` that has read everything so far
    follower = Follower(watcher)
    follower.poll()
    assert follower.history.step[-1] == 10

    assert compact_events(run, 6, marker={"event": "resumed", "step": 6}) == 5  # steps 7..10, the cut line
    follower.poll()  # the shortened file is never seen without its marker
    assert follower.history.step == list(range(1, 7))
    run.append_events(steps(7, 12))

    raw = [json.loads(line) for line in run.metrics_path.read_text().splitlines()]
    assert [e["step"] for e in raw if e["event"] == "step"] == list(range(1, 13))
    follower.poll()
    fresh = History()
    for e in RunDir(run.path).read_events()[0]:
        fresh.apply(e)
    assert follower.history.step == fresh.step == list(range(1, 13))
    assert follower.history.step_loss == fresh.step_loss


def test_compaction_keeps_the_file_when_nothing_is_undone(run):
    run.append_events(steps(1, 4))
    ino = run.metrics_path.stat().st_ino
    assert compact_events(run, 4, marker={"event": "resumed", "step": 4}) == 0
    assert run.metrics_path.stat().st_ino == ino
    assert run.read_events()[0][-1]["event"] == "resumed"


def test_a_run_folder_appears_whole_or_not_at_all(tmp_path):
    dead = tmp_path / ".new-old-999999999.tmp"  # a `new` killed before its rename (no such pid)
    dead.mkdir()
    run = RunDir.create(tmp_path, "fresh", config={"model": "ddpm"}, lock=True)
    assert run.is_run() and run.read_status()["state"] == "running"
    assert not dead.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh"]
    with pytest.raises(FileExistsError):
        RunDir.create(tmp_path, "fresh", config={"model": "ddpm"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh"]
    run.release_lock()


def test_stale_temporary_files_are_removed(run):
    stale = [run.checkpoints_dir / ".last.pt.x1.tmp", run.path / ".status.json.y2.tmp"]
    for p in stale:
        p.write_bytes(b"x" * 100)
    run.last_checkpoint.write_bytes(b"kept")
    assert sorted(remove_stale_temp_files(run)) == sorted(stale)
    assert run.last_checkpoint.read_bytes() == b"kept"


def test_a_mistyped_config_is_damaged_for_every_view(run):
    from diffdash.runs.summary import summarize

    run.write_config({"model": "ddpm", "n_hidden": "abc"})
    run.write_status({"state": "finished", "pid": os.getpid()})
    run.append_events(steps(1, 2))
    with pytest.raises(DamagedConfig, match="n_hidden is a string"):
        run.read_config()
    row = summarize(run)
    assert row.status == "damaged" and "n_hidden is a string ('abc')" in row.damaged
    assert row.n_hidden is None


def test_concurrent_appenders_and_a_compaction_keep_every_line(run):
    """Two `eval`s and a trainer appending at once, while a resume compacts: every line valid, none lost."""
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from diffdash.store import RunDir\n"
        "r, w = RunDir(Path(sys.argv[1])), sys.argv[2]\n"
        "for i in range(300): r.append_events([{'event': 'eval', 'step': 0, 'writer': w, 'i': i, 'pad': 'x' * 300}])\n"
    )
    run.append_events(steps(1, 50))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(run.path), w]) for w in "abc"]
    for _ in range(20):
        compact_events(run, 25, marker={"event": "resumed", "step": 25})
    assert all(p.wait(timeout=120) == 0 for p in procs)
    raw = run.metrics_path.read_bytes().splitlines()
    events = [json.loads(line) for line in raw]  # every line is valid JSON
    for w in "abc":
        assert sorted(e["i"] for e in events if e.get("writer") == w) == list(range(300))
    assert [e["step"] for e in events if e["event"] == "step"] == list(range(1, 26))
