"""`diffdash study run/status/report` end to end: real child processes training real (tiny) runs on the bundled
MNIST subset. The runner is killed and stopped mid-study to check that running it again finishes the study with
no run trained twice and no duplicate folders."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from diffdash.store import RunDir

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
QUICK = ROOT / "studies" / "coursework-quick.toml"
MEMBERS = ["ddpm-16-32-32-16", "ddpm-16-32-64-32-16", "cold-k3-s0.1", "cold-k13-s7"]


def diffdash(*args: str, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "diffdash", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )


def child_env(cache: Path) -> dict:
    return {**os.environ, "DIFFDASH_DATA": str(cache), "DIFFDASH_RUNS": "/nonexistent-runs-dir"}


def events(run: Path, kind: str) -> list[dict]:
    return [e for e in RunDir(run).read_events()[0] if e.get("event") == kind]


@pytest.fixture(scope="module")
def quick_study(tmp_path_factory, small_classifier):
    """The shipped quick study trained once, two runs at a time (the classifier comes from the test cache)."""
    _, cache = small_classifier
    root = tmp_path_factory.mktemp("study") / "runs"
    env = child_env(cache)
    result = diffdash("study", "run", str(QUICK), "--runs-dir", str(root), "--parallel", "2", env=env)
    return root, env, result


def test_quick_study_end_to_end(quick_study, tmp_path):
    root, env, result = quick_study
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 4 runs finished" in result.stdout
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == sorted(
        f"coursework-quick-{m}" for m in MEMBERS
    )
    for m in MEMBERS:
        run = root / f"coursework-quick-{m}"
        assert json.loads((run / "config.json").read_text())["study"] == "coursework-quick"
        assert json.loads((run / "study.json").read_text())["member"] == m
        assert [e["epoch"] for e in events(run, "epoch")] == [1, 2]
        assert [e["epoch"] for e in events(run, "eval")] == [2]
        assert f"{m}: epoch 2/2" in result.stdout  # the plain progress line of each epoch

    status = diffdash("study", "status", str(QUICK), "--runs-dir", str(root), "--json", env=env)
    rows = json.loads(status.stdout)["runs"]
    assert [(r["member"], r["state"], r["epoch"]) for r in rows] == [(m, "finished", 2) for m in MEMBERS]
    assert all(r["fid"] is not None and r["fid_epoch"] == 2 and r["val_loss"] for r in rows)

    listed = diffdash("runs", "--study", "coursework-quick", "--runs-dir", str(root), "--json", env=env)
    assert sorted(r["id"] for r in json.loads(listed.stdout)) == sorted(f"coursework-quick-{m}" for m in MEMBERS)
    other = diffdash("runs", "--study", "another", "--runs-dir", str(root), "--json", env=env)
    assert json.loads(other.stdout) == []

    sizes = {m: (root / f"coursework-quick-{m}" / "metrics.jsonl").stat().st_size for m in MEMBERS}
    again = diffdash("study", "run", str(QUICK), "--runs-dir", str(root), "--parallel", "2", env=env)
    assert again.returncode == 0 and again.stdout.count("nothing to do") == 4, again.stdout
    assert sizes == {m: (root / f"coursework-quick-{m}" / "metrics.jsonl").stat().st_size for m in MEMBERS}

    out = tmp_path / "report"
    report = diffdash("study", "report", str(QUICK), "--runs-dir", str(root), "-o", str(out), env=env)
    assert report.returncode == 0, report.stdout + report.stderr
    index = (out / "index.md").read_text()
    for m in MEMBERS:
        assert f"| {m} |" in index
    for n in range(1, 15):  # every coursework figure has its file
        assert re.search(rf"\| Figure {n}\b|, Figure {n}\b", index), n
    assert "differ only in n_hidden" in index
    assert "FID (MNIST classifier) at equal training time" in index
    for name in ("overlay.png", "overlay_ddpm.png", "grids_ddpm_epoch_0001.png", "fid.png", "grids_last.png"):
        assert (out / name).stat().st_size > 5000, name
    for m in ("cold-k3-s0.1", "cold-k13-s7"):
        for kind in ("forward", "reconstruct", "generated", "loss"):
            assert (out / f"{kind}_{m}.png").is_file(), (kind, m)


def test_changed_run_refused_then_restarted_alone(quick_study, tmp_path):
    src, env, result = quick_study
    assert result.returncode == 0
    root = tmp_path / "runs"
    shutil.copytree(src, root)
    changed = tmp_path / "quick.toml"
    changed.write_text(
        QUICK.read_text().replace("n_hidden = [16, 32, 32, 16]\n", "n_hidden = [16, 32, 32, 16]\nlr = 1e-3\n", 1)
    )
    refused = diffdash("study", "run", str(changed), "--runs-dir", str(root), env=env)
    assert refused.returncode == 2
    assert "ddpm-16-32-32-16" in refused.stderr and "lr: (default) in the run, 0.001 in the file" in refused.stderr
    status = diffdash("study", "status", str(changed), "--runs-dir", str(root), env=env)
    assert "changed" in status.stdout.splitlines()[1]

    before = {m: (root / f"coursework-quick-{m}" / "metrics.jsonl").read_bytes() for m in MEMBERS[1:]}
    rerun = diffdash(
        "study",
        "run",
        str(changed),
        "--runs-dir",
        str(root),
        "--only",
        "ddpm-16-32-32-16",
        "--restart-changed",
        env=env,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert (root / ".trash" / "coursework-quick-ddpm-16-32-32-16").is_dir()
    config = json.loads((root / "coursework-quick-ddpm-16-32-32-16" / "config.json").read_text())
    assert config["lr"] == 1e-3
    assert before == {m: (root / f"coursework-quick-{m}" / "metrics.jsonl").read_bytes() for m in MEMBERS[1:]}
    assert "starting" in rerun.stdout and rerun.stdout.count("starting") == 1


SMALL = """
[study]
name = "kill"
[defaults]
dataset = "mnist-small"
epochs = 5
batch_size = 32
train_limit = 384
val_limit = 64
n_T = 50
sample_steps = 3
[runs.a]
n_hidden = [4, 8, 4]
[runs.b]
n_hidden = [8, 8, 8]
"""


@contextlib.contextmanager
def start_runner(study: Path, root: Path, env: dict):
    """The runner in the background; however the test ends, it is stopped (and stops its children)."""
    argv = [sys.executable, "-m", "diffdash", "study", "run", str(study), "--runs-dir", str(root), "--parallel", "2"]
    runner = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    try:
        yield runner
    finally:
        if runner.poll() is None:
            runner.terminate()
            runner.communicate(timeout=120)


def wait_for_first_epoch(root: Path, runner: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(events(root / f"kill-{m}", "start") for m in "ab") and any(
            events(root / f"kill-{m}", "epoch") for m in "ab"
        ):
            return
        assert runner.poll() is None, runner.stdout.read()
        time.sleep(0.1)
    raise AssertionError("no epoch finished in time")


def check_trained_once(root: Path) -> None:
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == ["kill-a", "kill-b"]
    assert not (root / ".trash").exists()
    for m in "ab":
        run = root / f"kill-{m}"
        assert len(events(run, "start")) == 1
        assert [e["epoch"] for e in events(run, "epoch")] == [1, 2, 3, 4, 5]  # raw lines: no epoch twice
        assert RunDir(run).read_status()["state"] == "finished"


def test_killed_runner_rerun_finishes_without_training_twice(tmp_path):
    """SIGKILL: the children keep training on their own; the second runner waits for them instead."""
    study = tmp_path / "kill.toml"
    study.write_text(SMALL)
    root, env = tmp_path / "runs", child_env(tmp_path / "cache")
    with start_runner(study, root, env) as runner:
        wait_for_first_epoch(root, runner)
        runner.kill()
        runner.wait()
    live = [m for m in "ab" if RunDir(root / f"kill-{m}").read_status()["state"] == "running"]
    again = diffdash("study", "run", str(study), "--runs-dir", str(root), "--parallel", "2", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("still training in another process") == len(live) >= 1
    check_trained_once(root)
    for m in "ab":
        assert not events(root / f"kill-{m}", "resumed")


def test_stopped_runner_rerun_resumes(tmp_path):
    """SIGTERM: the runner stops its children (each checkpoints); running it again resumes them."""
    study = tmp_path / "kill.toml"
    study.write_text(SMALL)
    root, env = tmp_path / "runs", child_env(tmp_path / "cache")
    with start_runner(study, root, env) as runner:
        wait_for_first_epoch(root, runner)
        runner.send_signal(signal.SIGTERM)
        output = runner.communicate(timeout=120)[0]
    assert runner.returncode == 0, output  # stopped as asked: the exit code of a stopped `diffdash new`
    stopped = [m for m in "ab" if RunDir(root / f"kill-{m}").read_status()["state"] == "stopped"]
    assert stopped, output
    again = diffdash("study", "run", str(study), "--runs-dir", str(root), "--parallel", "2", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    check_trained_once(root)
    for m in stopped:
        assert len(events(root / f"kill-{m}", "resumed")) == 1
