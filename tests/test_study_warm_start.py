"""Study members forked from the warm server (diffdash/study/warm_start.py): a real study of two tiny members,
each a real training; while they run, each member's process is a child of the fork server (not of the runner),
in its own session, with its output in its log; the runs finish exactly as `python -m diffdash new` would end
them, a member that fails reports its exit code, and DIFFDASH_WARM_START=0 starts members as fresh processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from diffdash.store import RunDir
from diffdash.study import load_study
from diffdash.study.runner import StudyRunner
from diffdash.study.warm_start import WarmProcess

STUDY = """
[study]
name = "warm"
[defaults]
dataset = "mnist-small"
epochs = 2
batch_size = 64
train_limit = 128
val_limit = 64
n_T = 50
sample_steps = 3
sample_every = "2"
[runs.a]
lr = 1e-3
[runs.b]
lr = 2e-3
"""


def _stat(pid: int) -> tuple[int, int]:
    """(parent pid, session id) of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[3])


def _run(tmp_path: Path, text: str = STUDY) -> tuple[StudyRunner, int, dict[str, tuple]]:
    (tmp_path / "warm.toml").write_text(text)
    study = load_study(tmp_path / "warm.toml")
    runner = StudyRunner(study, tmp_path / "runs", parallel=2, poll_s=0.2, say=lambda _line: None, cpus=2)
    seen: dict[str, tuple] = {}

    def look() -> None:  # every loop: the last sighting of each live member wins (it calls setsid first thing)
        for child in runner.active:
            try:
                seen[child.member.name] = (type(child.proc), child.proc.pid, *_stat(child.proc.pid))
            except OSError:  # already gone
                seen.setdefault(child.member.name, (type(child.proc), child.proc.pid, None, None))

    runner.on_tick = look
    return runner, runner.run(), seen


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads parent pids from /proc (Linux)")
def test_members_are_forked_from_the_warm_server_and_finish(tmp_path, monkeypatch):
    monkeypatch.delenv("DIFFDASH_WARM_START", raising=False)
    runner, rc, seen = _run(tmp_path)
    assert rc == 0 and runner.done == {"a", "b"}
    assert set(seen) == {"a", "b"}
    for name, (kind, pid, ppid, sid) in seen.items():
        assert kind is WarmProcess
        assert pid != os.getpid()
        if ppid is not None:  # still alive when looked at: the server's child, in a session of its own
            assert ppid != os.getpid()
            assert sid == pid
        run = RunDir(tmp_path / "runs" / f"warm-{name}")
        assert run.read_status()["state"] == "finished"
        log = (tmp_path / "runs" / ".studies" / "warm" / f"{name}.log").read_text()
        assert "finished at epoch 2" in log  # the member's own output reached its log
        assert f"new --headless --name warm-{name}" in log  # the launch line the runner writes first


def test_a_failing_member_reports_its_exit_code(tmp_path, monkeypatch):
    monkeypatch.delenv("DIFFDASH_WARM_START", raising=False)
    damaged = tmp_path / "damaged-mnist"  # four idx files that hold no digits: the member exits 2 at its start
    damaged.mkdir()
    for stem in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        (damaged / stem).write_bytes(b"not an idx file")
    text = STUDY.replace('dataset = "mnist-small"', f'dataset = "mnist"\ndata_dir = "{damaged}"')
    runner, rc, seen = _run(tmp_path, text)
    assert rc == 1
    assert set(runner.failed) == {"a", "b"}
    assert runner.failed == {"a": "exit 2", "b": "exit 2"}  # the CLI's usage-error code, through the fork server
    for name in ("a", "b"):
        log = (tmp_path / "runs" / ".studies" / "warm" / f"{name}.log").read_text()
        assert "Error: Invalid value for --data-dir" in log and "not an idx file" in log, log[-500:]
    assert all(kind is WarmProcess for kind, *_ in seen.values())


def test_warm_start_off_starts_fresh_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFDASH_WARM_START", "0")
    runner, rc, seen = _run(tmp_path)
    assert rc == 0 and runner.done == {"a", "b"}
    assert all(kind is not WarmProcess for kind, *_ in seen.values())


LONG = STUDY.replace("epochs = 2", "epochs = 200").replace("[runs.b]\nlr = 2e-3\n", "")  # one member, minutes long


def _wait_training(run: RunDir, seconds: float = 120.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status = run.read_status()
        except (OSError, ValueError):
            status = None
        if status and status.get("step", 0) >= 1:
            return status
        time.sleep(0.2)
    raise AssertionError(f"{run.path} did not start training")


def test_a_hang_up_to_the_runners_group_stops_members_cleanly(tmp_path):
    """A closed terminal (SIGHUP to the whole process group) must not kill the fork server: the runner still
    sees its member alive, asks it to stop, and the member checkpoints and says `stopped`, not `failed`."""
    (tmp_path / "warm.toml").write_text(LONG)
    env = {**os.environ, "DIFFDASH_WARM_START": "1"}
    argv = [sys.executable, "-m", "diffdash", "study", "run", str(tmp_path / "warm.toml"), "--headless"]
    runner = subprocess.Popen(
        [*argv, "--runs-dir", str(tmp_path / "runs")], env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    run = RunDir(tmp_path / "runs" / "warm-a")
    try:
        member = _wait_training(run)["pid"]
        os.killpg(runner.pid, signal.SIGHUP)
        out, _ = runner.communicate(timeout=120)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError, ProcessLookupError):
            if run.read_status()["state"] == "running":  # a member the failed runner left: never leave it training
                os.kill(run.read_status()["pid"], signal.SIGKILL)
    assert "failed" not in out and "exit 255" not in out, out
    assert "a: stopped at epoch" in out, out
    status = run.read_status()
    assert status["state"] == "stopped" and status["pid"] == member
    assert run.last_checkpoint.exists()


def test_the_runner_exits_without_waiting_for_a_member_it_leaves_running(tmp_path):
    """`stop(detach=True)` (the board's `d`) leaves the member training and the runner's process ends now:
    multiprocessing must not join the member at exit."""
    (tmp_path / "warm.toml").write_text(LONG)
    script = f"""
import sys
from diffdash.store import RunDir
from diffdash.study import load_study
from diffdash.study.runner import StudyRunner
from diffdash.study.launch import training
runner = StudyRunner(load_study({str(tmp_path / "warm.toml")!r}), {str(tmp_path / "runs")!r}, poll_s=0.2, cpus=1)
runner.on_tick = lambda: training(runner.root / "warm-a") and runner.stop(detach=True)
runner.run()
print("member pid", RunDir(runner.root / "warm-a").read_status()["pid"], flush=True)
"""
    run = RunDir(tmp_path / "runs" / "warm-a")
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], env={**os.environ, "DIFFDASH_WARM_START": "1"},
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        member = int(done.stdout.split("member pid")[1].split()[0])
        os.kill(member, 0)  # still training after the runner's process has ended
        assert run.read_status()["state"] == "running"
    finally:  # never leave the member training, whatever failed above
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError, ProcessLookupError):
            os.kill(run.read_status()["pid"], signal.SIGKILL)
