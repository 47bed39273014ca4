"""The launching terminal's view of a run its workers train: events read from the run folder, as `watch` reads.

The workers are other processes, so the dashboard or the headless printer cannot be their listener. The
follower turns the folder back into the events an in-process engine would have told them: metrics.jsonl
from a byte offset (a restart's compaction is followed from its `resumed` marker, see `RunDir.read_events`),
plus `progress` events made from the phase rank 0 keeps in status.json (progress is not a metric, so it is
not in metrics.jsonl). No torch here.
"""

from __future__ import annotations

import contextlib
from typing import Any

from diffdash.store import RunDir

FINAL_STATES = ("finished", "stopped", "failed")


class FolderFollower:
    def __init__(self, run: RunDir, from_end: bool = True):
        """`from_end`: skip the events already there (a resumed run's history, which the dashboard reads itself)."""
        self.run = RunDir(run.path)  # its own reader: the offset and the file's inode are this follower's
        self.offset = 0
        self.phase: dict[str, Any] | None = None
        if from_end:
            _, self.offset = self.run.read_events(0)

    def read(self) -> list[dict[str, Any]]:
        events, self.offset = self.run.read_events(self.offset)
        status = self.status()
        phase = status.get("phase") if status.get("state") == "running" else None
        if phase != self.phase:
            self.phase = phase
            events.append({"event": "progress", **(phase or {"phase": None, "done": None, "total": None})})
        return events

    def status(self) -> dict[str, Any]:
        with contextlib.suppress(OSError, ValueError):
            return self.run.read_status()
        return {}

    def final_state(self) -> str:
        """What the workers left: finished, stopped or failed as rank 0 recorded it; crashed when it recorded
        nothing final (a worker group that failed for good, or a killed launcher)."""
        state = self.status().get("state")
        return state if state in FINAL_STATES else "crashed"
