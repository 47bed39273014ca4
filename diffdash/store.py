"""The run folder: the one source of truth that training writes and every view reads.

runs/<id>/config.json     the resolved config, parameter count, data used, device, versions
runs/<id>/metrics.jsonl   append-only events, one JSON object per line
runs/<id>/status.json     state, pid, host, heartbeat, summary figures
runs/<id>/samples/        epoch_0001.png ... (4x4 preview grids)
runs/<id>/checkpoints/    last.pt (everything needed to resume)

No torch here: listing runs must stay instant.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from diffdash.fsutil import atomic_write_json, read_json

RUNS_ENV = "DIFFDASH_RUNS"
STATES = ("running", "finished", "failed", "stopped", "crashed")
STALE_HEARTBEAT_S = 300.0


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


@dataclass
class RunDir:
    path: Path

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
    def create(cls, root: str | Path, run_id: str) -> RunDir:
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        path = root / run_id
        path.mkdir()  # FileExistsError: never reuse someone's folder
        (path / "samples").mkdir()
        (path / "checkpoints").mkdir()
        return cls(path)

    def is_run(self) -> bool:
        return self.config_path.is_file() or self.status_path.is_file()

    # config -----------------------------------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_json(self.config_path, config)

    def read_config(self) -> dict[str, Any]:
        return read_json(self.config_path)

    # metrics ----------------------------------------------------------------------------------
    def append_events(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        text = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()

    def read_events(self, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Events from byte `offset` on, and the offset after the last complete line.

        A truncated last line (a writer mid-append, or a crash) is left for the next read.
        """
        try:
            with open(self.metrics_path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return [], offset
        end = data.rfind(b"\n") + 1
        events = []
        for line in data[:end].splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
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
        if status.get("state") == "running" and not self._writer_alive(status):
            status = {**status, "state": "crashed", "error": status.get("error") or "training process is gone"}
        return status

    @staticmethod
    def _writer_alive(status: dict[str, Any]) -> bool:
        if status.get("host") == socket.gethostname() and status.get("pid"):
            return pid_alive(int(status["pid"]), status.get("pid_start"))
        return time.time() - float(status.get("heartbeat", 0)) < STALE_HEARTBEAT_S

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
        """Preview grids as (epoch, path), oldest first; `variant` picks a subfolder of samples/."""
        folder = self.samples_dir / variant if variant else self.samples_dir
        out = []
        for p in sorted(folder.glob("epoch_*.png")):
            try:
                out.append((int(p.stem.split("_")[1]), p))
            except (IndexError, ValueError):
                continue
        return out


def drop_undone(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply 'resumed' markers: events logged after a checkpoint and then lost to a crash are dropped."""
    out: list[dict[str, Any]] = []
    for e in events:
        if e.get("event") == "resumed":
            step = e.get("step", 0)
            out = [x for x in out if x.get("step", 0) <= step or x.get("event") in ("start", "resumed")]
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
        return notes_path(run).read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def set_display_name(run: RunDir, name: str | None) -> None:
    """Rename a run by its config's "name" (the folder never moves, so a live writer is unaffected)."""
    config = run.read_config()
    config["name"] = name
    run.write_config(config)
