"""The run folder: ids, atomic files, truncated metrics, honest status, run references."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from diffdash.store import RunDir, RunNotFound, drop_undone, new_run_id, resolve_run


def test_run_id_format_and_name():
    rid = new_run_id("ddpm", now=1795890612.0)
    assert re.fullmatch(r"\d{8}-\d{6}-ddpm-[0-9a-f]{4}", rid)
    assert new_run_id("ddpm", name="mine") == "mine"


def test_create_refuses_an_existing_folder(tmp_path):
    RunDir.create(tmp_path, "a")
    with pytest.raises(FileExistsError):
        RunDir.create(tmp_path, "a")


def test_reader_skips_a_truncated_last_line_and_resumes_from_offset(tmp_path):
    run = RunDir.create(tmp_path, "r")
    run.append_events([{"event": "step", "step": 1}, {"event": "step", "step": 2}])
    with open(run.metrics_path, "a") as f:
        f.write('{"event": "step", "st')  # a writer caught mid-line
    events, offset = run.read_events()
    assert [e["step"] for e in events] == [1, 2]
    with open(run.metrics_path, "a") as f:
        f.write('ep": 3}\n')
    more, _ = run.read_events(offset)
    assert [e["step"] for e in more] == [3]


def test_resumed_marker_drops_events_a_crash_undid():
    events = [
        {"event": "start", "step": 0},
        {"event": "step", "step": 1},
        {"event": "step", "step": 2},
        {"event": "step", "step": 3},
        {"event": "resumed", "step": 2},
        {"event": "step", "step": 3},
    ]
    assert [(e["event"], e["step"]) for e in drop_undone(events)] == [
        ("start", 0),
        ("step", 1),
        ("step", 2),
        ("resumed", 2),
        ("step", 3),
    ]


def test_status_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    run = RunDir.create(tmp_path, "r")
    for i in range(20):
        run.write_status({"state": "finished", "i": i})
    assert json.loads(run.status_path.read_text())["i"] == 19
    assert [p.name for p in run.path.iterdir() if p.name.startswith(".")] == []


def test_running_run_whose_process_is_gone_reads_as_crashed(tmp_path):
    import socket

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run = RunDir.create(tmp_path, "r")
    run.write_status({"state": "running", "pid": proc.pid, "host": socket.gethostname(), "heartbeat": 0})
    assert run.read_status()["state"] == "crashed"
    run.write_status({"state": "running", "pid": os.getpid(), "host": socket.gethostname(), "heartbeat": 0})
    assert run.read_status()["state"] == "running"


def test_resolve_run_by_id_prefix_name_index_latest(tmp_path):
    for i, rid in enumerate(["20261128-100000-ddpm-aaaa", "20261128-110000-ddpm-bbbb", "20261128-110500-ddpm-bbcc"]):
        run = RunDir.create(tmp_path, rid)
        run.write_status({"state": "finished", "started": 1000.0 + i})
        run.write_config({"name": "best" if i == 0 else None})
    assert resolve_run(tmp_path, "latest").id.endswith("bbcc")
    assert resolve_run(tmp_path, "1").id.endswith("aaaa")
    assert resolve_run(tmp_path, "20261128-10").id.endswith("aaaa")
    assert resolve_run(tmp_path, "best").id.endswith("aaaa")
    assert resolve_run(tmp_path, "20261128-110500-ddpm-bbcc").id.endswith("bbcc")
    with pytest.raises(RunNotFound) as amb:
        resolve_run(tmp_path, "20261128-11")
    assert len(amb.value.candidates) == 2
    with pytest.raises(RunNotFound):
        resolve_run(tmp_path, "nope")
    with pytest.raises(RunNotFound):
        resolve_run(tmp_path, "9")


def test_samples_are_ordered_by_epoch_then_step_with_the_epochs_final_grid_last(tmp_path):
    run = RunDir.create(tmp_path, "r")
    names = ["epoch_0001.png", "epoch_0001_step_000070.png", "epoch_0001_step_000007.png", "epoch_0002.png",
             "epoch_0010.png", "epoch_0002_step_000100.png", "epoch_x.png"]  # fmt: skip
    for name in names:
        (run.samples_dir / name).write_bytes(b"")
    assert [p.name for _, p in run.samples()] == [
        "epoch_0001_step_000007.png", "epoch_0001_step_000070.png", "epoch_0001.png",
        "epoch_0002_step_000100.png", "epoch_0002.png", "epoch_0010.png",
    ]  # fmt: skip
    assert [e for e, _ in run.samples()] == [1, 1, 1, 2, 2, 10]
