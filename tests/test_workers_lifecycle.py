"""`--nproc N` that the machine cannot hold is refused before anything starts; workers never outlive their
launcher, even when they cannot act (stopped: SIGSTOP stands for a hung or swapping worker); SIGTERM to the
launcher ends the run as stopped, not running, also when the workers do not honour the stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

import pytest
from distributed_support import TINY, children, diffdash, gone, wait_until
from fault_support import TINY as TINY_CLI
from fault_support import invoke

from diffdash.machine.memory_budget import TORCH_PROCESS_BYTES, workers_problem
from diffdash.store import RunDir


def test_workers_need_a_core_each_and_their_memory_together():
    assert workers_problem(2, 10**8, cores=2, free=8 * 10**9) is None
    cores = workers_problem(1000, 10**8, cores=2, free=8 * 10**9)
    assert cores == "--nproc 1000 needs a CPU core per worker and this machine has 2: use --nproc 2 or fewer"
    memory = workers_problem(16, 10**9 - TORCH_PROCESS_BYTES, cores=64, free=10 * 10**9)
    assert memory is not None and memory.startswith("--nproc 16 needs about 16.0 GB of memory (1.0 GB per worker")
    assert memory.endswith("has 10.0 GB free: use --nproc 8 or fewer")


def test_nproc_beyond_the_machine_is_refused_before_anything_starts(tmp_path):
    runs = tmp_path / "runs"
    result = invoke("new", *TINY_CLI, "--nproc", "1024", "--name", "many", runs=runs)
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]
    assert "--nproc 1024 needs a CPU core per worker" in line and "use --nproc" in line
    assert not (runs / "many").exists(), "nothing was made"


def worker_pids(launcher: subprocess.Popen) -> list[int]:
    (torchrun,) = children(launcher.pid)
    assert wait_until(lambda: len(children(torchrun)) == 2, timeout=60)
    return children(torchrun)


def start_training(tmp_path, name: str) -> tuple[subprocess.Popen, RunDir, list[int]]:
    runs = tmp_path / "runs"
    run = RunDir(runs / name)
    cmd = diffdash("new", *TINY, "--epochs", "200", "--nproc", "2", "--name", name, runs=runs)
    launcher = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def training() -> bool:
        with contextlib.suppress(OSError, ValueError):
            return any(e["event"] == "step" for e in run.events())
        return False

    assert wait_until(training, timeout=240), "the workers never trained a step"
    workers = worker_pids(launcher)
    assert len(workers) == 2
    return launcher, run, workers


@pytest.mark.slow
def test_stuck_workers_die_with_a_killed_launcher(tmp_path):
    launcher, run, workers = start_training(tmp_path, "k")
    try:
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)  # they cannot poll for their parent now
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait()
        assert wait_until(lambda: all(gone(pid) for pid in workers), timeout=10), "a worker outlived its launcher"
    finally:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_sigterm_stops_the_run_even_when_the_workers_do_not_answer(tmp_path):
    launcher, run, workers = start_training(tmp_path, "t")
    try:
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)  # a stop request through the control file goes unanswered
        t0 = time.monotonic()
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(60)
        took = time.monotonic() - t0
        assert launcher.returncode == 0 and took < 30, (launcher.returncode, took)
        assert wait_until(lambda: all(gone(pid) for pid in workers), timeout=10), "a worker outlived its launcher"
        assert run.read_status()["state"] == "stopped"
    finally:
        launcher.kill()
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
