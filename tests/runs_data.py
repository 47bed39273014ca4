"""Run folders for the runs/compare/report tests: copies of real runs with changed fields, and the recorded runs
under tests/data/compare_runs (real tiny trainings kept in the repo so the compare snapshots do not depend on
the clock). A run trained in this session is the `trained_run` fixture in conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from diffdash.store import RunDir

RECORDED = Path(__file__).parent / "data" / "compare_runs"


def copy_run(src: Path, root: Path, run_id: str, *, name: str | None = None, **status: object) -> RunDir:
    """A copy of a real run folder under a new id (no checkpoint), with its name and status fields changed."""
    root.mkdir(parents=True, exist_ok=True)
    dst = root / run_id
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.pt"))
    run = RunDir(dst)
    config = run.read_config()
    config["name"] = name
    run.write_config(config)
    if status:
        run.write_status({**json.loads(run.status_path.read_text()), **status})
    return run


def running_status() -> dict:
    """Status fields of a run whose writer is alive: this test process."""
    from diffdash.store import process_identity

    return {"state": "running", **process_identity()}


def recorded_runs(root: Path, names: tuple[str, ...]) -> list[RunDir]:
    """Copies of the recorded runs (the copies may be modified by a test)."""
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        shutil.copytree(RECORDED / name, root / name)
        out.append(RunDir(root / name))
    return out


def dead_pid() -> int:
    """A pid that belongs to no process (a run that was 'running' when its process died)."""
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1
