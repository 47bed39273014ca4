"""Study members started from a warm process: a fork server that has imported torch and the training engine once
forks each member, so a member's start costs a fork instead of a Python start and `import torch` (seconds each;
in a search of short trials that start is a large part of every trial, and pruning cannot save it).

A member started here is what `python -m diffdash new …` would be: its own session (a Ctrl-C at the study's
terminal does not reach it), stdin from /dev/null, stdout and stderr appended to its log, the study's thread
count, the same CLI and exit codes. It is not a child of the runner but of the fork server, so a killed runner
leaves it training exactly as a Popen child with its own session would be (the server exits when the runner
does; its members keep going and the next `study run` waits for them through their launch records). The runner
follows a member through a pidfd (alive or not, signals that cannot reach a reused pid), since the server, not
the runner, reaps it. What differs from a fresh process: /proc/PID/cmdline shows the server's command line (the
launch record and the log's first line name the member's). A member lets go of multiprocessing's resource
tracker, which holds the runner's stdout and stderr: a pipe reading the runner ends when the runner does, even
while members it left running keep training.
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.process
import os
import runpy
import select
import signal
import sys
from multiprocessing import resource_tracker
from typing import Any

# What the server imports once, by name (the member runs the diffdash program, as `python -m diffdash` would;
# the study package does not import the CLI): torch and the modules `new` and `resume` load.
PRELOAD = [
    "diffdash.study.warm_server",  # first: the server ignores the terminal's signals and lets go of its output
    "torch",
    "numpy",
    "diffdash.cli",
    "diffdash.commands.train_commands",
    "diffdash.training.engine",
    "diffdash.training.loop",
    "diffdash.diffusion.ddpm",
    "diffdash.degradations",
    "diffdash.mnist.load",
]


class WarmProcess:
    """A member forked by the warm server, with the part of `subprocess.Popen` the runner uses."""

    def __init__(self, process: Any) -> None:
        self._process = process
        self._code: int | None = None
        try:
            self._pidfd: int | None = os.pidfd_open(process.pid)
        except (AttributeError, OSError):  # not Linux 5.3+: the server's report alone
            self._pidfd = None

    @property
    def pid(self) -> int:
        return self._process.pid

    def poll(self) -> int | None:
        """None while it runs, else its exit code (negative: killed by that signal), as Popen's."""
        if self._code is not None:
            return self._code
        if self._pidfd is None:
            self._code = self._process.exitcode
            return self._code
        if not select.select([self._pidfd], [], [], 0)[0]:
            return None  # alive, whatever the server (even a killed one) says
        self._process.join(5.0)  # it has ended: the server reports the code as it reaps it
        code = self._process.exitcode
        self._code = 255 if code is None else code
        os.close(self._pidfd)
        self._pidfd = None
        return self._code

    def send_signal(self, sig: int) -> None:
        """Signal it while it lives; an ended member (even one whose pid is reused) is left alone."""
        if self.poll() is not None:
            return
        try:
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, sig)
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:
            pass


def warm_start_wanted() -> bool:
    """On unless DIFFDASH_WARM_START=0 (then every member is a fresh `python -m diffdash`)."""
    return os.environ.get("DIFFDASH_WARM_START", "1") not in ("0", "no", "false")


_context: Any = None
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def start_member(argv: list[str], env: dict[str, str], log: str, threads: int) -> WarmProcess:
    """Fork `diffdash ARGV…` (argv without the program) from the warm server; its output is appended to `log`."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
        saved = {k: os.environ.get(k) for k in THREAD_ENV}
        os.environ.update({k: str(threads) for k in THREAD_ENV})  # read once by the server's OpenMP and BLAS
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    process = _context.Process(target=member_main, args=(argv, env, log, threads), name="diffdash-member")
    process.start()
    multiprocessing.process._children.discard(process)  # the runner follows it; its exit must not wait for it
    return WarmProcess(process)


def member_main(argv: list[str], env: dict[str, str], log: str, threads: int) -> None:
    """In the forked member: its own session, stdin /dev/null, output to `log`, then `diffdash ARGV…`."""
    tracker = resource_tracker._resource_tracker  # holds the runner's output; a member's end must not wait on it
    if tracker._fd is not None:
        os.close(tracker._fd)
        tracker._fd = tracker._pid = None
    os.setsid()  # its own session first: a Ctrl-C or hang-up at the study's terminal does not reach it
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the server ignores these; a member does not
    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
    out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.close(null)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's own streams
    sys.stdout = open(1, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)  # noqa: SIM115
    os.environ.clear()  # the runner's environment now, not the server's when it started
    os.environ.update(env)
    if (torch := sys.modules.get("torch")) is not None:
        torch.set_num_threads(threads)  # the server imported torch before the member's thread variables
    sys.argv = ["diffdash", *argv]
    try:
        runpy.run_module("diffdash", run_name="__main__", alter_sys=True)
    finally:
        atexit._run_exitfuncs()  # a multiprocessing child ends with os._exit, which skips them
