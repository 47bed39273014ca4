"""What a cluster job or task does on the node it lands on: train one study member through diffdash's own
headless `new` / `resume`, into its ordinary run folder.

The run folder decides, when the job starts (not when it was submitted): no folder -> `new`; a checkpoint ->
`resume` from it. So a requeued Slurm job or a Ray task retried on another node simply resumes. A stop asked
for by the scheduler (SIGTERM, Slurm's timeout signal, a Ray cancel) reaches the training process as SIGTERM:
it checkpoints and marks its run stopped, then the job ends. No torch here: the training is a child process.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from diffdash.study.executors.records import cancel_path, update_record
from diffdash.study.launch import log_tail
from diffdash.study.members import inspect, log_path, to_trash
from diffdash.study.spec import Member, Study

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
POLL_S = 0.5
WAIT_OTHER_S = 2.0  # how often a job polls a run still marked running by a process that may be gone
PR_SET_PDEATHSIG = 1


def member_command(study: Study, root: Path, member: Member, action: str, threads: int) -> list[str]:
    """The `diffdash new|resume` command line the local runner would use, with --nproc kept on resume."""
    from diffdash.store import RunDir
    from diffdash.study.members import MemberState
    from diffdash.study.runner import StudyRunner

    runner = StudyRunner(study, root, [member], cpus=threads)
    state = MemberState(member, RunDir(Path(root) / member.run_id), "", action)  # type: ignore[arg-type]
    argv = runner.command(state)
    nproc = int(member.params.get("nproc") or 1)
    if action == "resume" and nproc > 1:
        argv += ["--nproc", str(nproc)]
    return argv


def _die_with_parent() -> None:
    """In the child: SIGTERM (checkpoint and stop) when the job's process dies, e.g. its Ray worker is killed."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: no such call
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class MemberTraining:
    """Trains one member to its epochs in a child process; `stop()` (from a signal handler or another thread)
    asks that child to checkpoint and stop and waits for it."""

    def __init__(self, study: Study, root: str | Path, member: Member, threads: int, where: dict[str, Any]):
        self.study = study
        self.root = Path(root)
        self.member = member
        self.threads = max(1, threads)
        self.where = where  # executor, job id / node: appended to the member's log
        self._proc: subprocess.Popen | None = None
        self.stopped = False

    def __getstate__(self) -> dict[str, Any]:  # pickled by submitit and Ray: never the live child
        return {**self.__dict__, "_proc": None, "stopped": False}

    def run(self) -> str:
        """'finished', 'stopped' (asked to stop) or raises RuntimeError with the log's last line."""
        update_record(self.root, self.study, self.member, node=socket.gethostname(), started=time.time())
        while True:
            s = inspect(self.root, self.study, self.member)
            if s.action == "skip":
                return "finished"
            if s.action == "refuse":
                raise RuntimeError(s.why)
            if s.action != "wait":
                break
            time.sleep(WAIT_OTHER_S)  # trained by a process that may still be alive (its host's heartbeat)
            if self.stopped:
                return "stopped"
        if s.action == "restart" and s.run.path.exists():
            to_trash(s.run)
        action = "resume" if s.action == "resume" else "start"
        argv = member_command(self.study, self.root, self.member, action, self.threads)
        log = log_path(self.root, self.study, self.member)
        log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **{k: str(self.threads) for k in THREAD_ENV}}
        place = " ".join(f"{k} {v}" for k, v in self.where.items())
        with open(log, "ab") as f:
            f.write(f"\n# {place} on {socket.gethostname()}\n$ {' '.join(argv[1:])}\n".encode())
            f.flush()
            if self.stopped or cancel_path(self.root, self.study, self.member).exists():
                return "stopped"  # cancelled while it waited in the queue
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, env=env,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
            rc = self._wait()
        after = inspect(self.root, self.study, self.member)
        if after.state == "finished" and after.epoch >= self.member.epochs:
            return "finished"
        if after.state == "stopped" or self.stopped:
            return "stopped"
        tail = log_tail(log)
        raise RuntimeError(f"{self.member.name}: {after.state} (exit {rc}){': ' + tail if tail else ''}")

    def _wait(self) -> int:
        """Poll rather than block in waitpid: a signal handler calling stop() must be able to poll too."""
        assert self._proc is not None
        cancel = cancel_path(self.root, self.study, self.member)
        while (rc := self._proc.poll()) is None:
            if cancel.exists() and not self.stopped:
                self.stop()
            time.sleep(POLL_S)
        return rc

    def stop(self, timeout: float = 120.0) -> None:
        """SIGTERM to the training process (it checkpoints and marks its run stopped); wait for it to go."""
        self.stopped = True
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
            time.sleep(POLL_S)
