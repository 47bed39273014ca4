"""What a search has done so far, for `study status`, the plain progress lines and the board: one row per trial,
its state as Optuna holds it (complete, pruned at epoch N, running, fail), its value and its parameters, the
best first. The epochs and times come from the trials' run folders, as for any study member.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffdash.formats import format_loss, format_seconds
from diffdash.study.search_trials import PRUNED, TrialInfo, best_first, describe, read_trials
from diffdash.study.spec import Study
from diffdash.study.status import Row, StudyProgress


@dataclass
class TrialRow:
    info: TrialInfo
    row: Row

    @property
    def state(self) -> str:
        if self.info.state == "running" and self.row.state not in ("running", "pending"):
            return self.row.state  # stopped or crashed: resumed when the search runs again
        return self.info.state

    def state_text(self) -> str:
        if self.info.state == PRUNED and self.info.pruned_at is not None:
            return f"pruned @{self.info.pruned_at}"
        return self.state

    def to_dict(self) -> dict[str, Any]:
        i = self.info
        return {
            "trial": i.number,
            "run_id": i.member.run_id,
            "state": self.state,
            "value": i.value,
            "pruned_at": i.pruned_at,
            "params": i.params,
            "epoch": self.row.epoch,
            "epochs": self.row.epochs,
            "best_val": self.row.best_val,
            "fid": self.row.fid,
            "seconds": self.row.seconds,
        }


def trial_rows(study: Study, root: Path) -> list[TrialRow]:
    """The trials in storage with their run folders' progress, the best first."""
    return rows_with(study, root, None)[0]


def rows_with(study: Study, root: Path, progress: StudyProgress | None) -> tuple[list[TrialRow], StudyProgress]:
    """As trial_rows, following the run folders from where `progress` (the last poll's reader) got to."""
    infos = best_first(read_trials(study, root), study.search.direction)
    members = [i.member for i in infos]
    if progress is None or [m.name for m in progress.members] != [m.name for m in members]:
        followers = progress.followers if progress is not None else {}
        progress = StudyProgress(study, root, members)
        progress.followers.update(followers)  # keep the byte offsets already read
    rows = progress.poll()
    return [TrialRow(i, r) for i, r in zip(infos, rows, strict=True)], progress


HEADERS = ["trial", "state", "epochs", "value", "best val @ep", "parameters", "time"]


def row_cells(t: TrialRow) -> list[str]:
    r = t.row
    best = f"{format_loss(r.best_val)} @{r.best_epoch}" if r.best_val is not None else "-"
    value = format_loss(t.info.value) if t.info.value is not None else "-"
    return [r.member, t.state_text(), f"{r.epoch}/{r.epochs}", value, best, describe(t.info.params),
            format_seconds(r.seconds, "?")]  # fmt: skip


def table(rows: list[TrialRow]) -> str:
    lines = [HEADERS] + [row_cells(t) for t in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def summary_line(study: Study, rows: list[TrialRow]) -> str:
    states = [t.state for t in rows]
    counts = ", ".join(f"{states.count(s)} {s}" for s in dict.fromkeys(states))
    text = f"{study.name}: {len(rows)}/{study.search.trials} trials" + (f" ({counts})" if rows else "")
    complete = [t for t in rows if t.info.state == "complete"]
    if complete:
        best = complete[0]
        text += f"; best {best.row.member}: {study.search.metric} {format_loss(best.info.value)}"
    return text


def epoch_lines(runner: Any, echo: Callable[[str], None]) -> Callable[[], None]:
    """The plain progress: a line for each epoch any trial finishes (the runner's own lines say the rest)."""
    seen: dict[str, int] = {}

    def tick() -> None:
        for live in list(runner.lives.values()) + list(runner.external.values()):
            h = live.follower.history
            epoch = h.epoch[-1] if h.epoch else 0
            if epoch > seen.get(live.member.name, 0):
                seen[live.member.name] = epoch
                vals = [v for v in h.val_loss if v is not None]
                val = format_loss(vals[-1]) if vals else "-"
                echo(f"{live.member.name}: epoch {epoch}/{live.member.epochs}  val {val}  ({describe(params(live))})")

    return tick


def params(live: Any) -> dict[str, Any]:
    """The options the search chose for this trial (those set in [search.params])."""
    m = live.member
    return {k: v for k, v in m.options.items() if m.origin.get(k, "").startswith("search.params")}
