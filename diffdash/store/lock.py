"""Who is training a run: the process identity a status records, and the run's exclusive training lock.

A pid alone is not an identity (pids are reused), so a status records the kernel's start time of the pid
too; the lock (flock on runs/<id>/.lock) is what keeps a second `resume` from training the same run.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import Any

from diffdash.fsutil import new_file_mode

LOCK_FILE = ".lock"


class RunLocked(RuntimeError):
    """Another process holds the run's lock: it is training the run now."""

    def __init__(self, run_id: str, pid: int | None):
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"{run_id} is being trained by {who}")
        self.pid = pid


def _proc_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (Linux), so a reused pid is not mistaken for our process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def pid_alive(pid: int, start: str | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if start is not None:
        now_start = _proc_start(pid)
        if now_start is not None and now_start != start:
            return False
    return True


def process_identity() -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "pid_start": _proc_start(pid), "host": socket.gethostname()}


_HELD_LOCKS: dict[str, int] = {}


def _read_lock_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class TrainingLock:
    """The lock methods of a run folder (mixed into RunDir): held for the whole of a training process."""

    path: Path
    id: str

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK_FILE

    def hold_lock(self) -> int:
        """Take the run's exclusive lock for the rest of this process (RunLocked if someone has it)."""
        held = _HELD_LOCKS.get(str(self.path))
        if held is not None:
            return held
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, new_file_mode())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_lock_pid(fd)
            os.close(fd)
            raise RunLocked(self.id, pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD_LOCKS[str(self.path)] = fd
        return fd

    def release_lock(self) -> None:
        """Give the lock back before the process ends (tests, and engines run in-process)."""
        fd = _HELD_LOCKS.pop(str(self.path), None)
        if fd is not None:
            os.close(fd)

    def locked_by(self) -> int | None:
        """The pid of another process training this run now (it holds the lock), else None. Never blocks."""
        if str(self.path) in _HELD_LOCKS:
            return None  # this process: its training (in-process, e.g. a test) is over or is the caller
        try:
            fd = os.open(self.lock_path, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_lock_pid(fd) or -1
        finally:
            os.close(fd)
        return None
