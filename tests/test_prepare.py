"""`new --prepare`: a run folder for workers started elsewhere (torchrun on a cluster), and what every command
makes of a run that exists but has trained nothing yet; `resume` of a finished run writes nothing."""

from __future__ import annotations

import json

from fault_support import TINY, copy_run, crashed, invoke

from diffdash.store import RunDir


def prepared(root, name: str = "big", *extra: str):
    result = invoke("new", *TINY, "--epochs", "1", "--name", name, "--prepare", *extra, runs=root)
    assert result.exit_code == 0, result.output
    return result


def listed(root) -> dict:
    result = invoke("runs", "--json", runs=root)
    assert result.exit_code == 0, result.output
    return {row["id"]: row for row in json.loads(result.output)}


def test_prepare_makes_a_created_run_and_prints_the_torchrun_line(tmp_path):
    root = tmp_path / "runs"
    result = prepared(root, "big", "--nproc", "2")
    run = RunDir(root / "big")
    assert "torchrun --nnodes NODES --nproc-per-node 2" in result.output
    assert f"-m diffdash.worker {run.path.resolve()}" in result.output
    assert f"diffdash resume big --nproc 2 --runs-dir {root}" in result.output
    assert run.read_config()["name"] == "big"
    assert run.read_status()["state"] == "created"
    assert run.metrics_path.read_bytes() == b""  # trained nothing
    assert not run.last_checkpoint.exists() and run.locked_by() is None
    row = listed(root)["big"]
    assert (row["status"], row["damaged"], row["duration"]) == ("created", None, None)
    table = invoke("runs", runs=root).output
    assert "created" in table and "damaged" not in table and "crashed" not in table
    row_line = next(line for line in table.splitlines() if line.startswith("1 "))
    assert row_line.split()[1:3] == ["big", "big"], "the name column shows the --name (it is the id too)"
    prepared(root, "other")
    for args in (["watch", "--plain", "big"], ["compare", "--plain", "big", "other"], ["export", "big"]):
        result = invoke(*args, runs=root)
        assert crashed(result) is None and result.exit_code == 0, (args, result.output)
    assert invoke("rm", "big", runs=root).exit_code == 0
    assert not run.path.exists()


def test_prepare_with_tensorboard_is_refused(tmp_path):
    result = invoke("new", *TINY, "--prepare", "--tensorboard", str(tmp_path / "tb"), runs=tmp_path / "runs")
    assert result.exit_code == 2 and "--prepare trains nothing" in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_resume_starts_a_prepared_run_at_epoch_0(tmp_path):
    root = tmp_path / "runs"
    prepared(root)
    result = invoke("resume", "big", runs=root)
    assert result.exit_code == 0, result.output
    assert "starting big (prepared, nothing trained yet)" in result.output
    run = RunDir(root / "big")
    run.release_lock()
    events = run.events()
    assert events[0]["event"] == "start" and events[0]["step"] == 0
    assert "resumed" not in [e["event"] for e in events]
    assert events[-1]["event"] == "finished" and listed(root)["big"]["status"] == "finished"


def test_the_worker_starts_a_prepared_run_at_epoch_0(tmp_path):
    from diffdash.worker import main

    root = tmp_path / "runs"
    prepared(root)
    assert main([str(root / "big")]) == 0
    events = RunDir(root / "big").events()
    assert events[0]["event"] == "start" and events[-1]["event"] == "finished"
    assert listed(root)["big"]["status"] == "finished"


def test_resume_of_a_finished_run_says_so_and_writes_nothing(template_run, tmp_path):
    root = tmp_path / "runs"
    run = RunDir(copy_run(template_run, root))
    before = {p.name: p.read_bytes() for p in (run.metrics_path, run.status_path, run.config_path)}
    result = invoke("resume", run.id, runs=root)
    assert result.exit_code == 0, result.output
    assert "already finished" in result.output
    assert {p.name: p.read_bytes() for p in (run.metrics_path, run.status_path, run.config_path)} == before
