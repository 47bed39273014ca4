"""`diffdash study run|status|report` on a [search]: real child processes training tiny runs on the bundled subset,
Optuna's real SQLite storage, pruning through the run's control file, and a SIGKILLed search run again."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from diffdash.store import RunDir
from diffdash.study import load_study

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HEAD = """
[study]
name = "{name}"
[defaults]
dataset = "mnist-small"
epochs = 3
batch_size = 32
train_limit = 192
val_limit = 64
n_T = 50
sample_steps = 3
sample_every = "3"
"""
# the grid's order with seed 3 is lr 3e-3, 1e-3, 1e-7: once the first has finished, the median rule (one trial
# to start with) prunes the other two, which learn more slowly, after their first epoch
PRUNED = (  # epochs of ~1 s even on a fast idle CPU, so the runner (polling every 0.25 s) stops a trial mid-run
    HEAD.replace("train_limit = 192", "train_limit = 768")
    + """
n_hidden = [4, 8, 4]
[search]
sampler = "grid"
seed = 3
trials = 3
pruner = "median"
startup_trials = 1
[search.params]
lr = [1e-3, 3e-3, 1e-7]
"""
)
KILLED = (
    HEAD.replace("epochs = 3", "epochs = 6")
    + """
[search]
sampler = "random"
trials = 4
pruner = "none"
[search.params]
lr = { low = 1e-4, high = 3e-3, log = true }
n_hidden = [[4, 8, 4], [8, 8, 8]]
"""
)


def diffdash(*args: str, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "diffdash", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def env_for(tmp_path: Path) -> dict:
    return {**os.environ, "DIFFDASH_DATA": str(tmp_path / "cache"), "DIFFDASH_RUNS": "/nonexistent-runs-dir",
            "MPLBACKEND": "Agg"}  # fmt: skip


def events(run: Path, kind: str) -> list[dict]:
    return [e for e in RunDir(run).read_events()[0] if e.get("event") == kind]


def storage_trials(study_file: Path, root: Path):
    from diffdash.study.search_trials import read_trials

    return read_trials(load_study(study_file), root)


def check_storage_and_folders_agree(study_file: Path, root: Path, name: str, trials: int) -> None:
    """Every trial once in storage, finished or pruned; one run folder per trial, each trained once."""
    stored = storage_trials(study_file, root)
    assert [t.number for t in stored] == list(range(trials))
    assert {t.state for t in stored} <= {"complete", "pruned"}, [(t.number, t.state) for t in stored]
    folders = sorted(p.name for p in root.iterdir() if not p.name.startswith("."))
    assert folders == [f"{name}-trial-{n:03d}" for n in range(trials)]
    assert not (root / ".trash").exists()
    for t in stored:
        run = root / t.member.run_id
        config = json.loads((run / "config.json").read_text())
        assert (config["study"], config["trial"]) == (name, t.number)
        assert len(events(run, "start")) == 1
        epochs = [e["epoch"] for e in events(run, "epoch")]
        assert epochs == list(range(1, len(epochs) + 1))  # raw lines: no epoch trained twice
        assert sorted(t.values) == epochs  # what Optuna was told is what the folder holds
        state = RunDir(run).read_status()["state"]
        assert state == ("finished" if t.state == "complete" else "pruned")


@pytest.fixture(scope="module")
def pruned_search(tmp_path_factory):
    """The pruning search trained once: (study file, runs folder, env, the run's output)."""
    folder = tmp_path_factory.mktemp("pruned")
    study = folder / "p.toml"
    study.write_text(PRUNED.replace("{name}", "p"))
    root, env = folder / "runs", env_for(folder)
    result = diffdash("study", "run", str(study), "--runs-dir", str(root), "--headless", env=env)
    return study, root, env, result


def test_pruned_trials_stop_with_a_checkpoint_and_say_so(pruned_search, tmp_path):
    study, root, env, result = pruned_search
    assert result.returncode == 0, result.stdout + result.stderr
    check_storage_and_folders_agree(study, root, "p", 3)
    pruned = [t for t in storage_trials(study, root) if t.state == "pruned"]
    assert [t.number for t in pruned] == [1, 2], result.stdout
    for t in pruned:
        run = RunDir(root / t.member.run_id)
        status = run.read_status()
        assert t.member.options["lr"] < 3e-3 and status["pruned_at"] == t.pruned_at == 1
        assert status["epoch"] < 3 and run.last_checkpoint.is_file()  # stopped early, resumable
        assert f"{t.member.name}: pruned after epoch {t.pruned_at}" in result.stdout
    status = diffdash("study", "status", str(study), "--runs-dir", str(root), env=env)
    assert status.returncode == 0 and f"pruned @{pruned[0].pruned_at}" in status.stdout, status.stdout
    lines = status.stdout.splitlines()
    assert "complete" in lines[1] and "lr=0.003" in lines[1] and "pruned @1" in lines[2]  # the best first
    listing = diffdash("runs", "--runs-dir", str(root), env=env)
    assert "pruned" in listing.stdout, listing.stdout
    report = diffdash("study", "report", str(study), "--runs-dir", str(root), "-o", str(tmp_path / "rep"), env=env)
    assert report.returncode == 0, report.stdout + report.stderr
    index = (tmp_path / "rep" / "index.md").read_text()
    assert "diffdash new --dataset mnist-small" in index and "pruned @1" in index
    for png in ("history.png", "parallel.png", "intermediate.png"):
        assert (tmp_path / "rep" / png).stat().st_size > 10_000
    assert "importances.png: not drawn (needs two finished trials)" in report.stdout


async def test_the_board_shows_trials_best_first_with_their_state(pruned_search):
    from diffdash.ui.search_board import SearchBoard

    study_file, root, _, _ = pruned_search
    study = load_study(study_file)
    app = SearchBoard(study, root, poll_s=60.0)
    async with app.run_test(size=(130, 30)) as pilot:
        await pilot.pause()
        assert [t.row.member for t in app.trials] == ["trial-000", "trial-001", "trial-002"]
        cells = [str(c) for c in app.query_one("#runs").get_row("trial-001")]
        assert "[yellow]pruned @1[/]" in cells and "lr=0.001" in cells
        title = str(app.query_one("#title").render())
        assert "3/3 trials" in title and "1 complete" in title and "2 pruned" in title and "best trial-000" in title
        await pilot.press("down", "space", "down", "space", "c")
        await pilot.pause()
    assert app.return_value == ("compare", ["p-trial-001", "p-trial-002"])


@contextlib.contextmanager
def started(study: Path, root: Path, env: dict):
    argv = [sys.executable, "-m", "diffdash", "study", "run", str(study), "--runs-dir", str(root), "--parallel", "2"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.communicate(timeout=120)


def test_killed_search_continues_without_training_a_trial_twice(tmp_path):
    study = tmp_path / "k.toml"
    study.write_text(KILLED.replace("{name}", "k"))
    root, env = tmp_path / "runs", env_for(tmp_path)
    with started(study, root, env) as proc:
        deadline = time.monotonic() + 300
        while not any(events(p, "epoch") for p in root.glob("k-trial-*")):
            assert time.monotonic() < deadline and proc.poll() is None, proc.stdout.read()
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = storage_trials(study, root)
    assert len(before) >= 2 and any(t.state == "running" for t in before)
    again = diffdash("study", "run", str(study), "--runs-dir", str(root), "--parallel", "2", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    for t in before:
        if t.state == "running":  # its child trained on alone: followed to its end, or found finished
            followed = f"{t.member.name}: still training in another process: following it"
            assert followed in again.stdout or f"{t.member.name}: finished" in again.stdout, again.stdout
    check_storage_and_folders_agree(study, root, "k", 4)
    after = {t.number: t.params for t in storage_trials(study, root)}
    assert all(after[t.number] == t.params for t in before)  # the killed trials went on with their own parameters
    report = diffdash("study", "report", str(study), "--runs-dir", str(root), "-o", str(tmp_path / "rep"), env=env)
    assert report.returncode == 0, report.stdout + report.stderr
    for png in ("history.png", "importances.png", "parallel.png", "intermediate.png"):
        assert (tmp_path / "rep" / png).stat().st_size > 10_000
