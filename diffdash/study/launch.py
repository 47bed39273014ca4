"""What the runner needs to know about a launched child from outside it: whether it has set up, whether the
FID classifier it needs is cached, how many cores there are to divide, and the last line of its log; and the
study's closing line, which the local and the cluster runner both end with.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from diffdash.fsutil import read_json
from diffdash.store import RunDir

if TYPE_CHECKING:
    from diffdash.study.spec import Member, Study


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def classifier_cached(params: dict) -> bool:
    """Whether a run with these options finds its FID classifier cached (or needs none): the cache layout of
    diffdash.metrics.classifier, checked without importing torch."""
    if not params.get("eval_every"):
        return True
    from diffdash.mnist.load import default_data_dir

    folder = Path(params["data_dir"]).expanduser() if params.get("data_dir") else None
    try:
        if folder is None or (folder.exists() and not folder.stat().st_mode & stat.S_IWUSR):
            folder = default_data_dir()  # a read-only data folder: the classifier lives in the data cache
    except OSError:
        folder = default_data_dir()
    return any((folder / "classifiers").glob(f"lenet-{params.get('dataset', 'mnist')}-v*.pt"))


def training(path: Path, pid: int | None = None) -> bool:
    """Whether the run in `path` has finished setting up: the engine writes steps_per_epoch when training starts."""
    try:
        status = read_json(RunDir(path).status_path)
    except (OSError, ValueError):
        return False
    if not isinstance(status, dict) or (pid is not None and status.get("pid") != pid):
        return False
    return "steps_per_epoch" in status or status.get("state") != "running"


def log_tail(path: Path, lines: int = 1) -> str:
    try:
        text = path.read_bytes()[-4000:].decode("utf-8", "replace")
    except OSError:
        return ""
    rows = [r.strip() for r in text.splitlines() if r.strip()]
    return " | ".join(rows[-lines:])


def closing(
    study: Study,
    members: list[Member],
    done: set[str],
    failed: dict[str, str],
    stopped: bool,
    say: Callable[[str], None],
) -> int:
    """The study's last line (the local and the cluster runner's); 0 when every member finished, or when the
    study was stopped as asked with none failed (as `new` exits 0 when stopped), else 1."""
    if all(m.name in done for m in members):
        say(f"study {study.name}: all {len(members)} runs finished")
        return 0
    cancelled = [name for name, why in failed.items() if why.startswith("cancelled")]  # `study cancel`, not a fault
    broken = [name for name in failed if name not in cancelled]
    say(
        f"study {study.name}: {len(done)}/{len(members)} runs finished"
        + (f", failed: {', '.join(broken)}" if broken else "")
        + (f", cancelled: {', '.join(cancelled)}" if cancelled else "")
        + "; run the same command again to continue"
    )
    return 0 if stopped and not failed else 1
