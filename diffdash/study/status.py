"""What the study's runs have done so far, read from their folders: one row per member and the study's ETA.

The same reader serves `study status`, the plain progress lines and the study board. It follows each run's
metrics.jsonl from a byte offset (as `watch` does), so polling a long study costs only the new lines.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffdash.compare.quality_curve import digits_covered
from diffdash.formats import format_at, format_loss, format_seconds
from diffdash.runs.history import Follower
from diffdash.store import RunDir
from diffdash.study.members import MemberState, inspect
from diffdash.study.spec import Member, Study

SPARK = "▁▂▃▄▅▆▇█"


@dataclass
class Row:
    member: str
    run_id: str
    model: str
    state: str = "pending"
    action: str = "start"
    epoch: int = 0
    epochs: int = 0
    last_val: float | None = None
    best_val: float | None = None
    best_epoch: int | None = None
    val: list[float] = field(default_factory=list)
    fid: float | None = None
    fid_epoch: int | None = None
    digits: int | None = None
    seconds: float | None = None  # training time so far (summed over resumes)
    s_per_epoch: float | None = None
    left_s: float | None = None  # a running run's training still to do, from its steps so far
    fraction: float = 0.0  # of all its epochs' steps, for a progress bar that moves within long epochs
    changed: list[str] = field(default_factory=list)
    error: str | None = None
    where: str = ""  # a cluster's placement: "slurm 12 on node3 (Priority)" (study/executors)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d.pop("val")
        d["val_loss"] = list(self.val)
        return d


class StudyProgress:
    """Rows for the selected members, refreshed by `poll()` from their run folders."""

    def __init__(self, study: Study, root: Path, members: list[Member] | None = None):
        self.study = study
        self.root = Path(root)
        self.members = members if members is not None else list(study.members)
        self.followers: dict[str, Follower] = {}
        self.rows = [Row(m.name, m.run_id, m.model, epochs=m.epochs) for m in self.members]

    def poll(self) -> list[Row]:
        for member, row in zip(self.members, self.rows, strict=True):
            self._update(member, row, inspect(self.root, self.study, member))
        return self.rows

    def _update(self, member: Member, row: Row, ms: MemberState) -> None:
        row.state, row.action, row.changed = ms.state, ms.action, ms.changed
        row.epochs = member.epochs
        if not ms.run.path.exists():
            self.followers.pop(member.name, None)
            return
        follower = self.followers.get(member.name)
        if follower is None or follower.run.path != ms.run.path:
            follower = self.followers[member.name] = Follower(RunDir(ms.run.path))
        follower.poll()
        h = follower.history
        vals = [v for v in h.val_loss if v is not None and math.isfinite(v)]
        row.val = vals
        row.epoch = h.epoch[-1] if h.epoch else 0
        row.last_val = vals[-1] if vals else None
        best = h.best_val
        row.best_val, row.best_epoch = (best[0], best[1]) if best else (None, None)
        evals = [e for e in h.evals if isinstance(e.get("fid"), (int, float))]
        if evals:
            row.fid, row.fid_epoch = float(evals[-1]["fid"]), evals[-1].get("epoch")
            row.digits = digits_covered(evals[-1].get("histogram"))
        secs = [s for s in h.epoch_seconds if s]
        row.s_per_epoch = sum(secs[-5:]) / len(secs[-5:]) if secs else None
        try:
            status = ms.run.read_status()
        except (OSError, ValueError):
            status = {}
        t, step, spe = (status.get(k) for k in ("time", "step", "steps_per_epoch"))
        row.seconds = float(t) if isinstance(t, (int, float)) else (h.epoch_time[-1] if h.epoch_time else None)
        row.error = status.get("error") if ms.state in ("failed", "crashed") else None
        row.left_s = None
        row.fraction = min(1.0, row.epoch / member.epochs) if member.epochs else 0.0
        if ms.state == "running" and all(isinstance(v, (int, float)) and v > 0 for v in (t, step, spe)):
            row.fraction = min(1.0, step / (spe * member.epochs))
            row.left_s = max(0.0, (member.epochs * spe - step) * t / step)
            row.s_per_epoch = row.s_per_epoch or spe * t / step


def study_eta(rows: list[Row], parallel: int) -> float | None:
    """Seconds until every row is done with `parallel` runs at a time; None while nothing has been timed.

    A row not yet timed is assumed to take as long per epoch as the timed rows of its model (else any).
    """
    timed = [r for r in rows if r.s_per_epoch]
    if not timed:
        return None if any(r.epoch < r.epochs for r in rows) else 0.0
    work = []
    for r in rows:
        if r.epoch >= r.epochs or r.state == "foreign" or r.action == "skip":
            continue
        if r.left_s is not None:
            work.append(r.left_s)
            continue
        rate = r.s_per_epoch
        if rate is None:
            same = [t.s_per_epoch for t in timed if t.model == r.model] or [t.s_per_epoch for t in timed]
            rate = sum(same) / len(same)
        work.append((r.epochs - r.epoch) * rate)
    if not work:
        return 0.0
    return max(max(work), sum(work) / max(1, parallel))


def sparkline(values: list[float], width: int = 16) -> str:
    """The last `width` values as block characters, low to high (log-scaled when they span a decade)."""
    vals = [v for v in values[-width:] if v is not None and math.isfinite(v)]
    if not vals:
        return ""
    if min(vals) > 0 and max(vals) / min(vals) > 10:
        vals = [math.log10(v) for v in vals]
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-12:
        return SPARK[3] * len(vals)
    return "".join(SPARK[min(len(SPARK) - 1, int((v - lo) / (hi - lo) * len(SPARK)))] for v in vals)


def row_cells(r: Row) -> list[str]:
    """The plain-table cells of one row (study status and the progress lines)."""
    best = format_at(r.best_val, r.best_epoch)
    fid = f"{r.fid:.2f} @{r.fid_epoch}" if r.fid is not None else "-"
    state = "changed" if r.changed else r.state
    seconds = format_seconds(r.seconds, "?")
    return [r.member, state, f"{r.epoch}/{r.epochs}", format_loss(r.last_val), best, fid, seconds]


HEADERS = ["run", "state", "epochs", "last val", "best val @ep", "FID (MNIST clf)", "time"]


def table(rows: list[Row]) -> str:
    where = any(r.where for r in rows)  # a "where" column only for a study placed on a cluster
    lines = [HEADERS + ["where"] * where] + [row_cells(r) + [r.where or "-"] * where for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def now() -> float:
    return time.time()
