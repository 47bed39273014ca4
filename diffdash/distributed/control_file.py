"""The launcher's keys reaching every worker: a small JSON file in the run folder, no torch, no sockets.

The launching terminal (dashboard or headless) is not one of the workers, so it cannot set their `Controls`
directly. It writes `control.json` (atomically) whenever a key is pressed; rank 0 polls the file's stat
(cheap) and the workers agree on stop and pause at the next step (`diffdash.distributed.worker_controls`). Stop and
pause are levels; "sample now" and "checkpoint now" are counters, so a request is seen exactly once and an
old one is not replayed after a restart. Workers on other nodes need nothing: only rank 0 reads the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from diffdash.controls import Controls
from diffdash.fsutil import atomic_write_json
from diffdash.store import RunDir

POLL_S = 0.05
MAX_CONTROL_BYTES = 64 * 1024  # the launcher writes ~100 bytes; anything bigger is not its file


@dataclass
class ControlState:
    stop: bool = False
    paused: bool = False
    sample: int = 0
    checkpoint: int = 0


def control_path(run_path: str | Path) -> Path:
    return RunDir(Path(run_path)).control_path


def write_control(run_path: str | Path, state: ControlState) -> None:
    path = control_path(run_path)
    with contextlib.suppress(OSError):
        if not stat.S_ISREG(os.lstat(path).st_mode):  # a symlink or FIFO squatting in the run folder: ours to replace
            os.unlink(path)
    atomic_write_json(path, {**asdict(state), "time": time.time()})


class ControlFileIgnored(ValueError):
    """control.json is not a small regular file (a symlink, FIFO, device, or too big): it is not read at all."""


def read_small_json(path: Path) -> object:
    """The JSON in `path`, read only if it is a regular file of at most MAX_CONTROL_BYTES: a symlink to
    /dev/zero would fill memory, a FIFO would block the training step forever."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ControlFileIgnored(f"{path} is not a regular file: ignored")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())  # the file opened, not the one looked at (it may have been swapped)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_CONTROL_BYTES:
            raise ControlFileIgnored(f"{path} is not a small regular file: ignored")
        data = f.read(MAX_CONTROL_BYTES + 1)
    if len(data) > MAX_CONTROL_BYTES:
        raise ControlFileIgnored(f"{path} is larger than {MAX_CONTROL_BYTES} bytes: ignored")
    return json.loads(data)


def warn_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def read_control(run_path: str | Path, warn: Callable[[str], None] | None = None) -> ControlState:
    """The requests as last written; a missing or damaged file is no request, and one that is not a small
    regular file is not even read (`warn` hears why)."""
    try:
        data = read_small_json(control_path(run_path))
    except ControlFileIgnored as exc:
        (warn or warn_stderr)(f"{exc}; training goes on without its requests")
        return ControlState()
    except (OSError, ValueError):
        return ControlState()
    if not isinstance(data, dict):
        return ControlState()
    try:
        return ControlState(
            stop=data.get("stop") is True,  # only the launcher's own true: "false" or 1 is damage, not a stop
            paused=data.get("paused") is True,
            sample=int(data.get("sample", 0)),
            checkpoint=int(data.get("checkpoint", 0)),
        )
    except (TypeError, ValueError, OverflowError):  # OverflowError: json reads 1e999 as inf
        return ControlState()


class ControlReader:
    """Rank 0's view of the file: applies new requests to a `Controls`, reading the file only when it changed."""

    def __init__(self, run_path: str | Path, every_s: float = 0.1, warn: Callable[[str], None] | None = None):
        self.path = control_path(run_path)
        self.every_s = every_s
        self.warn = warn
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self.seen = read_control(run_path, warn)  # requests made before this worker started are not replayed
        self.seen.stop = self.seen.paused = False

    def poll(self, controls: Controls) -> None:
        now = time.monotonic()
        if now - self._checked < self.every_s:
            return
        self._checked = now
        try:
            st = os.stat(self.path)
        except OSError:
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        state = read_control(self.path.parent, self.warn)
        _level(controls.stop, state.stop)
        _level(controls.paused, state.paused)
        if state.sample > self.seen.sample:
            controls.sample_now.set()
        if state.checkpoint > self.seen.checkpoint:
            controls.checkpoint_now.set()
        self.seen = state


class ControlMirror:
    """The launcher's side: a thread that copies a `Controls` (set by the dashboard's keys or a signal) into
    the file. One-shot requests are counted and cleared, as an in-process engine would clear them."""

    def __init__(self, controls: Controls, run_path: str | Path):
        self.controls = controls
        self.run_path = Path(run_path)
        self.state = ControlState()
        write_control(self.run_path, self.state)  # a new launch starts with no request pending
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="control-mirror", daemon=True)

    def start(self) -> ControlMirror:
        self._thread.start()
        return self

    def close(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)
        self.copy()

    def copy(self) -> None:
        c, s = self.controls, self.state
        new = ControlState(stop=c.stop.is_set(), paused=c.paused.is_set(), sample=s.sample, checkpoint=s.checkpoint)
        if c.sample_now.is_set():
            c.sample_now.clear()
            new.sample += 1
        if c.checkpoint_now.is_set():
            c.checkpoint_now.clear()
            new.checkpoint += 1
        if new != s:
            with contextlib.suppress(OSError):  # a full disk must not kill the launcher; the next copy retries
                write_control(self.run_path, new)
                self.state = new

    def _loop(self) -> None:
        while not self._done.wait(POLL_S):
            self.copy()


def _level(event: threading.Event, on: bool) -> None:
    if on:
        event.set()
    else:
        event.clear()


class FileControls(Controls):
    """A lone headless process's `Controls` that also obey a stop written to its run's control file after it
    started (a study search stops a pruned trial so: it checkpoints and stops as on Ctrl-C). A file left by an
    earlier launch is no request, and the file never clears a stop that a signal asked for."""

    def __init__(self, run_path: str | Path, every_s: float = 0.2):
        super().__init__()
        self.path = control_path(run_path)
        self.every_s = every_s
        self._checked = 0.0
        self._stamp = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def sync(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.every_s:
            return
        self._checked = now
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return
        self._stamp = stamp
        if read_control(self.path.parent).stop:
            self.stop.set()
