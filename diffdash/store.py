"""The run folder: the one source of truth that training writes and every view reads.

runs/<id>/config.json     the resolved config, parameter count, data used, device, versions
runs/<id>/metrics.jsonl   append-only events, one JSON object per line
runs/<id>/status.json     state, pid, host, heartbeat, summary figures
runs/<id>/samples/        epoch_0001.png ... (4x4 preview grids)
runs/<id>/checkpoints/    last.pt (everything needed to resume)
runs/<id>/.lock           held (flock) by the one process training the run

No torch here: listing runs must stay instant.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import shutil
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from diffdash.fsutil import DISK_FULL_ERRNOS, DiskFull, atomic_write, atomic_write_json, new_file_mode, read_json

RUNS_ENV = "DIFFDASH_RUNS"
STATES = ("running", "finished", "failed", "stopped", "crashed")
STALE_HEARTBEAT_S = 300.0
LOCK_FILE = ".lock"
NEW_PREFIX = ".new-"
RESUMED_LINE = b'{"event":"resumed"'


class DamagedConfig(ValueError):
    """A config.json that parses but holds values of the wrong type."""


class RunLocked(RuntimeError):
    """Another process holds the run's lock: it is training the run now."""

    def __init__(self, run_id: str, pid: int | None):
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"{run_id} is being trained by {who}")
        self.pid = pid


def runs_root(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get(RUNS_ENV) or "runs").expanduser()


def new_run_id(model: str, name: str | None = None, now: float | None = None) -> str:
    if name:
        return name
    stamp = datetime.fromtimestamp(now or time.time()).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{model}-{secrets.token_hex(2)}"


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


@dataclass
class RunDir:
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

    @classmethod
    def create(cls, root: str | Path, run_id: str, config: dict[str, Any] | None = None, lock: bool = False) -> RunDir:
        """Make the run folder atomically: built under a hidden temporary name (with its lock taken and
        its config and a running status written, when given), then renamed, so a kill at any moment
        leaves either a complete run or nothing that is listed.
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
                staged.write_status({"state": "running", **process_identity(), "started": time.time(), "error": None})
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

    # the training lock ---------------------------------------------------------------------------
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

    def is_run(self) -> bool:
        return self.config_path.is_file() or self.status_path.is_file()

    # config -----------------------------------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_json(self.config_path, config)

    def read_config(self) -> dict[str, Any]:
        """config.json; DamagedConfig (a ValueError) when a value has the wrong type, so no view draws
        `"n_hidden": "abc"` as channels [a, b, c]."""
        from diffdash.config_file import config_problem

        data = read_json(self.config_path)
        problem = config_problem(data)
        if problem:
            raise DamagedConfig(problem)
        return data

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


_INT_KEYS = ("epoch", "step", "images")
_NUMBER_KEYS = ("time", "loss", "train_loss", "val_loss", "seconds", "images_per_s", "fid")


def well_formed(event: Any) -> bool:
    """An event every reader can use: an object naming its kind, with numbers where numbers belong.

    A line that parses but fails this (`[1, 2]`, `"step": "x"`) is skipped like a cut-off one.
    """
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return False
    for key in _INT_KEYS:
        value = event.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return False
    for key in _NUMBER_KEYS:
        value = event.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return False
    return True


def drop_undone(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply 'resumed' markers: events logged after a checkpoint and then lost to a crash are dropped."""
    out: list[dict[str, Any]] = []
    for e in events:
        if e.get("event") == "resumed":
            step = _step_of(e)
            out = [x for x in out if _step_of(x) <= step or x.get("event") in ("start", "resumed")]
        out.append(e)
    return out


class RunNotFound(LookupError):
    def __init__(self, message: str, candidates: list[str]):
        super().__init__(message)
        self.candidates = candidates


def list_run_dirs(root: str | Path) -> list[RunDir]:
    """Every folder in `root` (except the trash), oldest first by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    return [RunDir(p) for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".")]


def _started(run: RunDir) -> float:
    try:
        return float(read_json(run.status_path).get("started", 0))
    except (OSError, ValueError, AttributeError):
        return run.path.stat().st_mtime


def sorted_runs(root: str | Path) -> list[RunDir]:
    """Runs in start order: the index `diffdash runs` shows (1 = oldest)."""
    return sorted((r for r in list_run_dirs(root) if r.is_run()), key=lambda r: (_started(r), r.id))


def resolve_run(root: str | Path, ref: str) -> RunDir:
    """A run by id, unique id prefix, display name, index from `diffdash runs`, or 'latest'."""
    if not ref.strip():
        raise RunNotFound("the run reference is empty (an empty prefix would match every run)", [])
    runs = sorted_runs(root)
    if not runs:
        raise RunNotFound(f"no runs in {root}", [])
    if ref == "latest":
        return runs[-1]
    if ref.isdigit() and not any(r.id == ref for r in runs):
        i = int(ref)
        if 1 <= i <= len(runs):
            return runs[i - 1]
        raise RunNotFound(f"run index {i} is out of range: there are {len(runs)} runs", [r.id for r in runs])
    exact = [r for r in runs if r.id == ref]
    if exact:
        return exact[0]
    named = [r for r in runs if _display_name(r) == ref]
    if len(named) == 1:
        return named[0]
    matches = named or [r for r in runs if r.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFound(f"no run matches {ref!r} in {root}", [r.id for r in runs[-10:]])
    raise RunNotFound(f"{ref!r} is ambiguous: it matches {len(matches)} runs", [r.id for r in matches])


def _display_name(run: RunDir) -> str | None:
    try:
        return read_json(run.config_path).get("name")
    except (OSError, ValueError, AttributeError):
        return None


def check_runs_root(root: Path) -> None:
    """NotADirectoryError when `root`, or a folder above it, is a file (a mistyped --runs-dir or DIFFDASH_RUNS)."""
    for folder in (root, *root.parents):
        if folder.exists():
            if not folder.is_dir():
                raise NotADirectoryError(f"runs dir {root} is not a folder ({folder} is a file)")
            return


def remove_stale_new_folders(root: Path) -> None:
    """Half-made run folders (.new-<id>-<pid>.tmp) whose process died before renaming them."""
    for tmp in root.glob(f"{NEW_PREFIX}*.tmp"):
        try:
            pid = int(tmp.name[: -len(".tmp")].rsplit("-", 1)[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not pid_alive(pid):
            shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_temp_files(run: RunDir) -> list[Path]:
    """Temporary files of writes a killed process never finished (.last.pt.*.tmp, ...): call under the lock."""
    removed = []
    for folder in (run.path, run.checkpoints_dir, run.samples_dir, *run.samples_dir.glob("*/")):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                if tmp.is_file():
                    tmp.unlink(missing_ok=True)
                    removed.append(tmp)
    return removed


def compact_events(run: RunDir, step: int, marker: dict[str, Any] | None = None) -> int:
    """Rewrite metrics.jsonl without the lines a resume from `step` undoes (and any cut-off line), with the
    `resumed` marker appended in the same write.

    Atomic (temp file + rename) and under the appenders' flock, so jq or pandas read one line per step, and
    a live reader never sees the shortened file without its new marker. Returns how many lines were dropped;
    when none are, the marker is simply appended. Call after the checkpoint is loaded.
    """
    tail = [json.dumps(marker, separators=(",", ":")).encode() + b"\n"] if marker is not None else []
    try:
        fd = os.open(run.metrics_path, os.O_RDONLY)
    except FileNotFoundError:
        if marker is not None:
            run.append_events([marker])
        return 0
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), "rb") as f:
            lines = f.read().splitlines()
        kept, dropped = [], 0
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                dropped += 1
                continue
            if not well_formed(event):
                dropped += 1
                continue
            if event.get("event") not in ("start", "resumed") and _step_of(event) > step:
                dropped += 1
                continue
            kept.append(line + b"\n")
        if dropped:
            atomic_write(run.metrics_path, lambda f: f.write(b"".join(kept + tail)))
    finally:
        os.close(fd)
    if not dropped and marker is not None:
        run.append_events([marker])
    return dropped


def _step_of(event: dict[str, Any]) -> int:
    step = event.get("step", 0)
    return step if isinstance(step, int) else 0


# run management (issue 4): notes, display names, the trash ------------------------------------
TRASH = ".trash"
NOTES_FILE = "notes.md"


def trash_dir(root: str | Path) -> Path:
    """Where `diffdash rm` moves runs: a dot-folder inside the runs folder, so listings skip it."""
    return Path(root) / TRASH


def notes_path(run: RunDir) -> Path:
    return run.path / NOTES_FILE


def append_note(run: RunDir, text: str, now: float | None = None) -> None:
    """Append one dated note; appending (never rewriting) means no earlier note can be lost."""
    stamp = datetime.fromtimestamp(now or time.time()).strftime("%Y-%m-%d %H:%M:%S")
    with open(notes_path(run), "a", encoding="utf-8") as f:
        f.write(f"- {stamp}  {text.strip()}\n")
        f.flush()
        os.fsync(f.fileno())


def read_notes(run: RunDir) -> str:
    try:
        return notes_path(run).read_bytes().decode("utf-8", errors="replace")  # a damaged file still lists
    except FileNotFoundError:
        return ""


def set_display_name(run: RunDir, name: str | None) -> None:
    """Rename a run by its config's "name" (the folder never moves, so a live writer is unaffected)."""
    config = run.read_config()
    config["name"] = name
    run.write_config(config)
