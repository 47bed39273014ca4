"""Run indices that may have moved: `diffdash runs` records which run each index named when it was shown.

Indices number runs in start order, so removing run 3 makes the old run 4 the new 3: `compare 1 5` typed
from memory would silently name another run. The listing writes `<runs>/.listing.json` (index -> run id);
a command given an index looks it up there, and when the index now names another run it warns, naming both.
Best effort: a runs folder that cannot be written (a teammate's, read-only) just gets no record.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from diffdash.fsutil import atomic_write_json, read_json

LISTING_FILE = ".listing.json"


def remember_indices(root: str | Path, ids_by_index: dict[int, str]) -> None:
    """Record what `diffdash runs` just showed: each index and the run id it named."""
    record = {"time": time.time(), "runs": {str(i): run_id for i, run_id in sorted(ids_by_index.items())}}
    with contextlib.suppress(OSError):
        atomic_write_json(Path(root) / LISTING_FILE, record)


def shown_indices(root: str | Path) -> dict[int, str]:
    """index -> run id as the last listing showed them ({} when there was none or it cannot be read)."""
    try:
        record = read_json(Path(root) / LISTING_FILE)
        runs = record["runs"]
        return {int(i): str(run_id) for i, run_id in runs.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def index_moved(root: str | Path, index: int, run_id: str, now_ids: list[str]) -> str | None:
    """A warning when `index` names `run_id` now but named another run in the last listing, else None.

    `now_ids` are the run ids in index order now (to say where the run once listed there went).
    """
    before = shown_indices(root).get(index)
    if before is None or before == run_id:
        return None
    where = f"now index {now_ids.index(before) + 1}" if before in now_ids else "no longer in the runs folder"
    return (
        f"index {index} is now {run_id}; the last `diffdash runs` listed {before} as {index} ({where}): runs were "
        f"added or removed since. Run `diffdash runs` to see the indices, or use run names"
    )
