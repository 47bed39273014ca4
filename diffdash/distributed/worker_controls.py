"""A worker's `Controls`: stop and pause change only where every worker agrees, at the same step.

If rank 0 stopped one step before the others, they would wait in a gradient all-reduce it never joins. So
the raw requests (rank 0 reads them from the control file) go into a private `Controls`, and `sync()`, called
by the training loop at each step and while paused, all-reduces them and sets the public events on every
worker at once. Sampling loops on rank 0 only read the agreed events, so a preview in progress finishes (a
second or two) rather than leaving the others waiting. "Sample now" and "checkpoint now" concern only
rank 0, which writes the run folder: they pass straight through there.
"""

from __future__ import annotations

from pathlib import Path

from diffdash.controls import Controls
from diffdash.distributed.control_file import ControlReader
from diffdash.distributed.reduce import agree
from diffdash.distributed.world import World


class WorkerControls(Controls):
    def __init__(self, world: World, run_path: str | Path, device: str = "cpu", every: int = 1):
        super().__init__()
        self.world = world
        self.device = device
        self.every = max(1, every)  # on CUDA agreeing is a host sync: every few steps is soon enough
        self.requested = Controls()
        self.reader = ControlReader(run_path) if world.main else None
        self._calls = 0

    def request_stop(self) -> None:
        """A worker's own stop request (its --max-time spent), agreed with the others at the next `sync`."""
        self.requested.stop.set()

    def sync(self, force: bool = False) -> None:
        self._calls += 1
        if not force and self._calls % self.every:
            return
        if self.reader is not None:
            self.reader.poll(self.requested)
        r = self.requested
        stop, paused = agree([r.stop.is_set(), r.paused.is_set()], self.world, self.device)
        for event, on in ((self.stop, stop), (self.paused, paused)):
            if on:
                event.set()
            else:
                event.clear()
        for raw, public in ((r.sample_now, self.sample_now), (r.checkpoint_now, self.checkpoint_now)):
            if raw.is_set():
                raw.clear()
                public.set()
