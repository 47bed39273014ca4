"""One run folder (`RunDir`): its config, its metrics.jsonl events, its status and its preview grids.

Made atomically, written only by whole-file renames or whole-line appends, read by every view.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffdash.fsutil import DISK_FULL_ERRNOS, DiskFull, atomic_write_json, new_file_mode, read_json
from diffdash.store.cleanup import NEW_PREFIX, remove_stale_new_folders
from diffdash.store.events import drop_undone, well_formed
from diffdash.store.lock import _HELD_LOCKS, TrainingLock, _same_file, pid_alive, process_identity

STATES = ("created", "running", "finished", "failed", "stopped", "crashed", "pruned")  # pruned: a search
STALE_HEARTBEAT_S = 300.0
RESUMED_LINE = b'{"event":"resumed"'


class DamagedConfig(ValueError):
    """A config.json that parses but holds values of the wrong type."""


@dataclass
class RunDir(TrainingLock):
    path: Path
    _events_ino: int | None = field(default=None, compare=False, repr=False)

    @property
    def id(self) -> str:
        return self.path.name

    config_path = property(lambda self: self.path / "config.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    status_path = property(lambda self: self.path / "status.json")
    samples_dir = property(lambda self: self.path / "samples")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    last_checkpoint = property(lambda self: self.path / "checkpoints" / "last.pt")
    # what others keep in the folder, named here so its layout lives in one place
    control_path = property(lambda self: self.path / "control.json")  # launcher -> workers (distributed/control_file)
    study_path = property(lambda self: self.path / "study.json")  # the study that made the run (study/members.py)
    tags_path = property(lambda self: self.path / "tags.json")  # `diffdash tag` (store/tags.py)
    notes_path = property(lambda self: self.path / "notes.md")  # `diffdash note` (store/notes.py)
    workers_log = property(lambda self: self.path / "workers.log")  # --nproc: torchrun's and the workers' output

    @classmethod
    def create(
        cls,
        root: str | Path,
        run_id: str,
        config: dict[str, Any] | None = None,
        lock: bool = False,
        state: str = "running",
    ) -> RunDir:
        """Make the run folder atomically: built under a hidden temporary name (with its lock taken and
        its config and a running status written, when given), then renamed, so a kill at any moment
        leaves either a complete run or nothing that is listed. `state="created"`: a run prepared for
        workers started elsewhere (torchrun on a cluster), which no process trains yet.
        """
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        path = root / run_id
        if path.exists():
            raise FileExistsError(errno.EEXIST, "run exists", str(path))  # never reuse someone's folder
        remove_stale_new_folders(root)
        tmp = root / f"{NEW_PREFIX}{run_id}-{os.getpid()}.tmp"
        tmp.mkdir()
        try:
            staged = cls(tmp)
            (tmp / "samples").mkdir()
            (tmp / "checkpoints").mkdir()
            if lock:
                staged.hold_lock()
            if config is not None:
                os.close(os.open(staged.metrics_path, os.O_WRONLY | os.O_CREAT, new_file_mode()))
                staged.write_config(config)
                who = process_identity() if state == "running" else {"host": socket.gethostname()}
                staged.write_status({"state": state, **who, "started": time.time(), "error": None})
            if path.exists():
                raise FileExistsError(errno.EEXIST, "run exists", str(path))
            os.rename(tmp, path)  # onto a non-empty folder of that name this fails: nothing is overwritten
        except BaseException:
            fd = _HELD_LOCKS.pop(str(tmp), None)
            if fd is not None:
                os.close(fd)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if lock:
            _HELD_LOCKS[str(path)] = _HELD_LOCKS.pop(str(tmp))
        return cls(path)

    def is_run(self) -> bool:
        return self.config_path.is_file() or self.status_path.is_file()

    # config -----------------------------------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_json(self.config_path, config)

    def read_config(self) -> dict[str, Any]:
        """config.json; DamagedConfig (a ValueError) when a value has the wrong type, so no view draws
        `"n_hidden": "abc"` as channels [a, b, c]."""
        from diffdash.options.config_json import config_problem

        data = read_json(self.config_path)
        problem = config_problem(data)
        if problem:
            raise DamagedConfig(problem)
        return data

    def config_as_written(self) -> dict[str, Any] | None:
        """config.json as written, unchecked (None when missing, damaged or not an object): for a key or two."""
        return _json_object(self.config_path)

    def study_name(self) -> str | None:
        """The study the run belongs to (its config's "study"), or None."""
        name = (self.config_as_written() or {}).get("study")
        return name if isinstance(name, str) else None

    # study.json -------------------------------------------------------------------------------
    def write_study_tag(self, tag: dict[str, Any]) -> None:
        atomic_write_json(self.study_path, tag)

    def read_study_tag(self) -> dict[str, Any] | None:
        """study.json: the study and member that made the run and the options the file gave it; None when
        missing or damaged."""
        return _json_object(self.study_path)

    # metrics ----------------------------------------------------------------------------------
    def append_events(self, events: list[dict[str, Any]]) -> None:
        """Append whole lines under an exclusive flock, starting a fresh line after a cut-off one.

        The lock orders appenders (training, `eval`) with a resume's compaction; an appender that waited
        on a file the compaction replaced reopens the new one, so no line goes to an unlinked file.
        """
        if not events:
            return
        text = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events).encode()
        try:
            while True:
                fd = os.open(self.metrics_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, new_file_mode())
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    if _same_file(fd, self.metrics_path):
                        size = os.fstat(fd).st_size
                        if size and os.pread(fd, 1, size - 1) != b"\n":
                            text = b"\n" + text
                        view = memoryview(text)
                        while view:
                            view = view[os.write(fd, view) :]
                        return
                finally:
                    os.close(fd)
        except OSError as exc:
            if exc.errno in DISK_FULL_ERRNOS:
                raise DiskFull(self.metrics_path) from exc
            raise

    def read_events(self, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Events from byte `offset` on, and the offset after the last complete line.

        A truncated last line (a writer mid-append, or a crash) is left for the next read. When a resume
        has compacted the file since this RunDir last read it (a new inode), reading goes on from the
        new file's last `resumed` marker, which undoes what the reader saw after the checkpoint.
        """
        try:
            with open(self.metrics_path, "rb") as f:
                ino = os.fstat(f.fileno()).st_ino
                replaced = offset > 0 and self._events_ino is not None and ino != self._events_ino
                self._events_ino = ino
                if replaced:
                    data = f.read()
                    start = data.rfind(RESUMED_LINE)
                    start = data.rfind(b"\n", 0, start) + 1 if start >= 0 else len(data)
                    data, offset = data[start:], start
                else:
                    f.seek(offset)
                    data = f.read()
        except FileNotFoundError:
            return [], offset
        end = data.rfind(b"\n") + 1
        events = []
        for line in data[:end].splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if well_formed(event):
                events.append(event)
        return events, offset + end

    def events(self) -> list[dict[str, Any]]:
        """All events, with those undone by a resume dropped (steps after the checkpoint resumed from)."""
        return drop_undone(self.read_events()[0])

    # status -----------------------------------------------------------------------------------
    def write_status(self, status: dict[str, Any]) -> None:
        atomic_write_json(self.status_path, status)

    def read_status(self) -> dict[str, Any]:
        """The status as written, with a 'running' run whose process is gone reported as crashed."""
        status = read_json(self.status_path)
        if not isinstance(status, dict):
            raise ValueError("status.json is not a JSON object")
        if status.get("state") == "running" and not self._writer_alive(status):
            status = {**status, "state": "crashed", "error": status.get("error") or "training process is gone"}
        return status

    @staticmethod
    def _writer_alive(status: dict[str, Any]) -> bool:
        """Whether the process that wrote a 'running' status still runs; a garbled pid or heartbeat reads as gone."""
        try:
            if status.get("host") == socket.gethostname() and status.get("pid"):
                return pid_alive(int(status["pid"]), status.get("pid_start"))
            return time.time() - float(status.get("heartbeat", 0)) < STALE_HEARTBEAT_S
        except (TypeError, ValueError, OverflowError):
            return False

    # samples ----------------------------------------------------------------------------------
    def sample_path(self, epoch: int, step: int | None = None, variant: str | None = None) -> Path:
        """epoch_0003.png at an epoch's end; epoch_0003_step_000812.png for a grid asked for mid-epoch."""
        suffix = f"_step_{step:06d}" if step is not None else ""
        folder = self.samples_dir / variant if variant else self.samples_dir
        return folder / f"epoch_{epoch:04d}{suffix}.png"

    def sample_variants(self) -> list[str]:
        """Extra grid kinds a process writes beside the main previews (samples/<variant>/epoch_*.png)."""
        if not self.samples_dir.is_dir():
            return []
        return sorted(p.name for p in self.samples_dir.iterdir() if p.is_dir() and not p.name.startswith("."))

    def samples(self, variant: str | None = None) -> list[tuple[int, Path]]:
        """Preview grids as (epoch, path), oldest first: by epoch, and within an epoch its mid-epoch grids
        (epoch_0003_step_000812) by step before the epoch's final grid (epoch_0003); `variant` picks a
        subfolder of samples/."""
        folder = self.samples_dir / variant if variant else self.samples_dir
        out = []
        for p in folder.glob("epoch_*.png"):
            parts = p.stem.split("_")
            try:
                epoch = int(parts[1])
                step = int(parts[3]) if len(parts) == 4 and parts[2] == "step" else 1 << 62
            except (IndexError, ValueError):
                continue
            out.append(((epoch, step), p))
        return [(key[0], p) for key, p in sorted(out, key=lambda item: item[0])]


def _json_object(path: Path) -> dict[str, Any] | None:
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
