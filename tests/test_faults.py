"""Real training processes killed with SIGKILL at seeded random moments (start-up, mid-epoch, checkpoint
writes, previews): every run is listed as crashed (or not at all, if it died before it existed), every one
resumes, and the resumed result equals an uninterrupted run's exactly. Also: one trainer per run (the lock),
and a full disk, simulated (ENOSPC from /dev/full) and real (a small tmpfs, where one can be mounted).

DIFFDASH_FAULT_KILLS=N sets the number of kills (default 10); DIFFDASH_FAULT_SEED the schedule.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_support import invoke

pytestmark = pytest.mark.slow
KILLS = int(os.environ.get("DIFFDASH_FAULT_KILLS", "10"))
SEED = int(os.environ.get("DIFFDASH_FAULT_SEED", "20261129"))
ARGS = [
    "--dataset", "mnist-small", "--n-hidden", "4,8,4", "--train-limit", "128", "--val-limit", "32", "--n-T", "50",
    "--sample-steps", "2", "--batch-size", "32", "--device", "cpu", "--headless", "--epochs", "3",
    "--sample-every", "1",
]  # fmt: skip
PHASES = ("start-up", "mid-epoch", "checkpoint-write", "preview")
TIMEOUT_S = 900  # generous: a loaded 2-core machine runs these tiny steps 100x slower than a quiet one


def diffdash(*args: str, runs: Path) -> list[str]:
    return [sys.executable, "-m", "diffdash", *args, "--runs-dir", str(runs)]


def launch(args: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def lines(path: Path) -> list[dict]:
    from diffdash.store import RunDir

    return RunDir(path).read_events()[0] if path.is_dir() else []


def wait_for(proc: subprocess.Popen, ready, timeout: float = TIMEOUT_S, every: float = 0.002) -> bool:
    """Poll `ready()` until true (True) or the process ends first (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if ready():
            return True
        time.sleep(every)
    raise AssertionError("timed out waiting for the training process")


def trigger(phase: str, run: Path, rng: random.Random):
    """A readiness check for the moment to kill in `phase`."""
    ck = run / "checkpoints"
    if phase == "start-up":
        at = time.monotonic() + rng.uniform(0.05, 2.5)
        return lambda: time.monotonic() >= at
    if phase == "just-created":  # the folder has just become a run: nothing trained, no checkpoint
        return lambda: (run / "status.json").is_file()
    if phase == "checkpoint-write":
        return lambda: ck.is_dir() and any(ck.glob(".last.pt.*.tmp"))
    seen = {"steps": None, "epochs": None}

    def count(kind: str) -> int:
        try:
            data = (run / "metrics.jsonl").read_bytes()
        except OSError:
            return 0
        return data.count(b'{"event":"%s"' % kind.encode())

    if phase == "mid-epoch":
        extra = rng.randint(1, 2)
        return lambda: count("step") >= (seen.setdefault("s0", count("step")) + extra)
    return lambda: count("epoch") > seen.setdefault("e0", count("epoch"))  # preview: right after an epoch ends


def listed_state(runs: Path, run_id: str) -> str | None:
    from diffdash.runs.summary import summarize_all

    rows = [r for r in summarize_all(runs) if r.id == run_id]
    assert len(rows) <= 1
    return rows[0].status if rows else None


def final_weights(run: Path):
    import torch

    return torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]


def assert_same_result(victim: Path, reference: Path) -> None:
    import torch

    from diffdash.runs.history import read_history
    from diffdash.store import RunDir

    a, b = read_history(RunDir(victim)), read_history(RunDir(reference))
    assert a.epoch == b.epoch == [1, 2, 3]
    assert a.val_loss == b.val_loss and a.train_loss == b.train_loss
    assert a.step == b.step and a.step_loss == b.step_loss
    wa, wb = final_weights(victim), final_weights(reference)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    raw_steps = [e["step"] for e in lines(victim) if e.get("event") == "step"]
    assert raw_steps == sorted(set(raw_steps)), "metrics.jsonl is not one line per step after resumes"


def test_random_sigkills_never_lose_a_run(tmp_path):
    rng = random.Random(SEED)
    runs = tmp_path / "runs"
    reference = launch(diffdash("new", *ARGS, "--name", "reference", runs=tmp_path / "ref"))
    kills, phases_hit, victims, listed_crashed, absent = 0, [], [], 0, 0
    victim, exists = None, False
    while kills < KILLS:
        if victim is None:
            victim = f"victim{len(victims) + 1}"
            victims.append(victim)
            exists = False
        path = runs / victim
        cmd = diffdash("resume", victim, runs=runs) if exists else diffdash("new", *ARGS, "--name", victim, runs=runs)
        phase = "just-created" if kills == 0 else rng.choice(PHASES)  # the first: before any checkpoint
        proc = launch(cmd)
        try:
            fired = wait_for(proc, trigger(phase, path, rng))
        except AssertionError:
            proc.kill()
            raise
        if not fired:
            err = proc.stderr.read().decode()
            assert proc.returncode == 0, f"{' '.join(cmd[3:5])} exited {proc.returncode}:\n{err}"
            assert listed_state(runs, victim) == "finished"
            victim = None
            continue
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        kills += 1
        if kills == 1:
            assert not (path / "checkpoints" / "last.pt").exists(), "the first kill was meant to precede a checkpoint"
        left_tmp = any((path / "checkpoints").glob(".*.tmp")) if path.is_dir() else False
        phases_hit.append(f"{phase}{' (temp file left)' if left_tmp else ''}")
        state = listed_state(runs, victim)
        if state is None:  # killed before the folder became a run: nothing is listed, nothing is left
            assert not path.exists() and exists is False
            absent += 1
        else:
            assert state == "crashed", f"after a kill in {phase}: listed {state}"
            listed_crashed += 1
            exists = True
    for victim in victims:  # every run resumes to the end
        if listed_state(runs, victim) in ("crashed", None) and (runs / victim).exists():
            done = subprocess.run(diffdash("resume", victim, runs=runs), capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr
            assert not list((runs / victim / "checkpoints").glob(".*.tmp")), "stale temporary files left"
    assert reference.wait(timeout=600) == 0
    exact = 0
    for victim in victims:
        if (runs / victim).exists():
            assert_same_result(runs / victim, tmp_path / "ref" / "reference")
            exact += 1
    print(
        f"\nfaults: {kills} kills ({', '.join(phases_hit)}); listed crashed {listed_crashed}, "
        f"not yet a run {absent}; {len(victims)} runs, {exact} resumed to the uninterrupted result exactly"
    )


def test_one_trainer_per_run(tmp_path):
    runs = tmp_path / "runs"
    proc = launch(diffdash("new", *ARGS, "--name", "busy", runs=runs))
    try:
        assert wait_for(proc, lambda: any(e.get("event") == "step" for e in lines(runs / "busy")))
        for args in (["resume", "busy"], ["new", *ARGS, "--name", "busy"], ["rm", "busy"]):
            result = invoke(*args, runs=runs)
            assert result.exit_code == 2, result.output
            assert f"pid {proc.pid}" in result.output, result.output
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    result = invoke("resume", "busy", "--epochs", "1", runs=runs)  # the lock died with its process
    assert result.exit_code == 0, result.output


ENOSPC_HOOK = """
import os, tempfile
_real = tempfile.mkstemp
_calls = {"n": 0}
def mkstemp(*args, **kwargs):
    fd, path = _real(*args, **kwargs)
    if str(kwargs.get("prefix", "")).startswith(".last.pt."):
        _calls["n"] += 1
        if _calls["n"] >= int(os.environ["DIFFDASH_TEST_FULL_AT"]):
            full = os.open("/dev/full", os.O_WRONLY)
            os.dup2(full, fd)
            os.close(full)
    return fd, path
tempfile.mkstemp = mkstemp
"""


def check_disk_full_ending(run: Path, stderr: str, returncode: int) -> None:
    from diffdash.store import RunDir

    assert returncode == 1, stderr
    assert "Traceback" not in stderr and "enforce fail" not in stderr, stderr
    status = RunDir(run).read_status()
    assert status["state"] == "failed" and status["error"].startswith("disk full while writing"), status
    assert sum(status["error"] in line for line in stderr.splitlines()) == 1, stderr
    last = lines(run)[-1]
    assert last["event"] == "failed" and last["error"] == status["error"]
    import torch

    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["epoch"] >= 1  # the previous one


def test_disk_full_simulated(tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(ENOSPC_HOOK)
    env = {**os.environ, "PYTHONPATH": str(hook), "DIFFDASH_TEST_FULL_AT": "2"}
    runs = tmp_path / "runs"
    done = subprocess.run(
        diffdash("new", *ARGS, "--name", "full", runs=runs), capture_output=True, text=True, env=env, timeout=600
    )
    check_disk_full_ending(runs / "full", done.stderr, done.returncode)
    assert "checkpoints/last.pt" in json.loads((runs / "full" / "status.json").read_text())["error"]


def test_disk_full_on_a_real_small_tmpfs(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1400k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.decode().strip() or 'not permitted'})")
    try:
        runs = mount / "runs"
        done = subprocess.run(
            diffdash("new", *ARGS, "--name", "full", runs=runs), capture_output=True, text=True, timeout=600
        )
        check_disk_full_ending(runs / "full", done.stderr, done.returncode)
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_in_any_command_is_one_line_not_a_traceback(tmp_path):
    """Beyond training: `note` and `tag` on a run whose disk has no room left end with one line, exit 1."""
    from diffdash.store import RunDir

    mount = tmp_path / "tiny"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.decode().strip() or 'not permitted'})")
    try:
        runs = mount / "runs"
        RunDir.create(runs, "r", config={"model": "ddpm", "n_hidden": [4, 8, 4]})
        fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass  # full
        finally:
            os.close(fd)
        for args in (["note", "r", "x" * 9000], ["tag", "r", "full"]):
            done = subprocess.run(diffdash(*args, runs=runs), capture_output=True, text=True, timeout=120)
            assert done.returncode == 1, (args, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr and "disk full" in done.stderr, done.stderr
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    finally:
        subprocess.run(["umount", str(mount)], check=False)
