"""Finding runs: the runs folder, new run ids, the listing order `diffdash runs` numbers, and resolving
what a user typed (id, prefix, display name, index, 'latest') to one run.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import datetime
from pathlib import Path

from diffdash.fsutil import read_json
from diffdash.store.run_dir import RunDir

RUNS_ENV = "DIFFDASH_RUNS"


def runs_root(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get(RUNS_ENV) or "runs").expanduser()


def new_run_id(model: str, name: str | None = None, now: float | None = None) -> str:
    if name:
        return name
    stamp = datetime.fromtimestamp(now or time.time()).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{model}-{secrets.token_hex(2)}"


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
