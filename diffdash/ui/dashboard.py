"""`diffdash watch`: the run dashboard following a run folder that another process writes.

It polls metrics.jsonl (from a byte offset), status.json and samples/, and never writes there. The
training keys belong to the process that trains (TrainApp): here they are not bindings, so neither the
footer nor the command palette offers them; pressing one only says where it works.
"""

from __future__ import annotations

import socket
from typing import Any

from textual.binding import Binding
from textual.widget import Widget

from diffdash.store import RunDir
from diffdash.ui.run_dashboard import QUIT_KEYS, VIEW_KEYS, RunDashboard


def read_only_binding(key: str, what: str) -> Binding:
    """A hidden key with no description (so no palette entry) that explains why it does nothing here."""
    return Binding(key, f"read_only('{key} ({what})')", show=False)


class DashboardApp(RunDashboard):
    READ_ONLY = True
    BINDINGS = [
        *QUIT_KEYS,
        read_only_binding("x", "stop"),
        read_only_binding("p", "pause"),
        read_only_binding("s", "sample now"),
        read_only_binding("c", "checkpoint"),
        *VIEW_KEYS,
    ]

    def __init__(
        self,
        run: RunDir,
        *,
        image_mode: str = "auto",
        image_cls: type[Widget] | None = None,
        poll_s: float = 0.5,
        config: dict[str, Any] | None = None,
    ):
        super().__init__(run, image_mode=image_mode, image_cls=image_cls, config=config)
        self.poll_s = poll_s
        self.status: dict[str, Any] = {}

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(self.poll_s, self.read_folder)

    def read_folder(self) -> bool:
        """The new events, then the status (state, phase) and the grid list, which no event announces here."""
        if not super().read_folder():
            return False
        self._read_status()
        self.dirty.add("samples")
        return True

    def _read_status(self) -> None:
        try:
            status = self.run_dir.read_status()
        except (OSError, ValueError):
            return
        if status != self.status:
            self.status = status
            self.dirty |= {"header", "progress"}
        phase = status.get("phase") if status.get("state") == "running" else None
        if phase != self.view.meter.phase and (phase or self.view.meter.phase):
            self.view.meter.phase = phase  # progress events are not in metrics.jsonl: the status has the phase
            self.dirty.add("progress")

    def state(self) -> str:
        if not self.status:
            return self.view.state
        state = self.status.get("state", self.view.state)
        return "paused" if state == "running" and self.status.get("paused") else state

    def process_shown(self) -> tuple[int | None, bool]:
        """The training process's pid from its status, when it runs on this machine; no CUDA figures."""
        same_host = self.status.get("host") in (None, socket.gethostname())
        return (self.status.get("pid") if same_host else None), False

    def action_read_only(self, key: str) -> None:
        self.notify(
            f"{key} is not available in watch: it is read-only. The process that trains this run "
            "(diffdash new / resume) has these keys.",
            title="read-only",
            severity="warning",
            timeout=4,
        )
