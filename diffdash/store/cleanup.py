"""Tidying after a kill: half-made run folders, temporary files of unfinished writes, and the compaction
of metrics.jsonl a resume does (the lines after the checkpoint go, the `resumed` marker comes).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diffdash.fsutil import atomic_write
from diffdash.store.events import survives_resume, well_formed
from diffdash.store.lock import pid_alive

if TYPE_CHECKING:
    from diffdash.store.run_dir import RunDir

NEW_PREFIX = ".new-"


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
    for folder in (run.path, run.checkpoints_dir, run.samples_dir, *run.samples_dir.glob("*/"), run.path / "eval"):
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
                event = None
            if well_formed(event) and survives_resume(event, step):
                kept.append(line + b"\n")
            else:
                dropped += 1
        if dropped:
            atomic_write(run.metrics_path, lambda f: f.write(b"".join(kept + tail)))
    finally:
        os.close(fd)
    if not dropped and marker is not None:
        run.append_events([marker])
    return dropped
