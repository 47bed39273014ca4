"""Run management beside training: notes, display names and the trash."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

from diffdash.store.run_dir import RunDir

TRASH = ".trash"


def trash_dir(root: str | Path) -> Path:
    """Where `diffdash rm` moves runs: a dot-folder inside the runs folder, so listings skip it."""
    return Path(root) / TRASH


def notes_path(run: RunDir) -> Path:
    return run.notes_path


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
