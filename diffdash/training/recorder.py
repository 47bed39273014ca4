"""The one writer of a run folder: metrics.jsonl, status.json (with its heartbeat), config.json, checkpoints
and sample grids, and the listeners in this process (the dashboard, the headless printer, a TensorBoard log).

Everything training writes goes through a `Recorder`, including the status of a run that failed before
its first step, so a folder never says "running" for a run that is over. Each file write is one of the
small `_write_*` methods at the bottom; `NullRecorder` turns them off, for a process that trains but
must not write (every rank but the first when several processes train one run).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diffdash.checkpoint import save_checkpoint
from diffdash.fsutil import DiskFull, is_disk_full
from diffdash.mnist.grids import save_grid
from diffdash.runs.time_spent import TimeSpent
from diffdash.store import RunDir, compact_events, process_identity, remove_stale_temp_files
from diffdash.training.system_samples import SystemSamples

if TYPE_CHECKING:
    import torch

    from diffdash.training.state import TrainingState

Listener = Callable[[dict[str, Any]], None]
FLUSH_EVERY_S = 2.0  # step events are appended in batches at most this old; every other event at once
HEARTBEAT_EVERY_S = 10.0
PHASE_WRITE_EVERY_S = 1.0


def quiet(_message: str) -> None:
    """The default `say`: tell nobody."""


class Recorder:
    def __init__(self, run: RunDir, listeners: Iterable[Listener] = (), say: Callable[[str], None] | None = None):
        self.run = run
        self.listeners = list(listeners)
        self.say = say or quiet  # a line for the person watching (stderr headless, the event log in the dashboard)
        self.state: TrainingState | None = None  # bound once set up: it places events in epoch/step/time
        self.status: dict[str, Any] = {}
        self._pending: list[dict[str, Any]] = []
        self._last_flush = 0.0
        self._last_heartbeat = 0.0
        self._last_phase_write = 0.0
        self.system: SystemSamples | None = None  # resource samples, once training is bound
        self.time = TimeSpent()  # training seconds so far, for status.json (what `runs` lists)

    def bind(self, state: TrainingState) -> None:
        self.state = state
        self.system = SystemSamples()  # `system` events from here on (sample_system)

    # ------------------------------------------------------------------ events
    def emit(self, event: dict[str, Any], persist: bool = True) -> dict[str, Any]:
        """Stamp an event with the counters and time, append it to metrics.jsonl (steps in batches), tell the
        listeners. `persist=False`: listeners only (progress, and a run that never started)."""
        event = {"event": event.pop("event"), **self._stamp(), **event}
        self.time.apply(event)
        if persist:
            self._pending.append(event)
            if event["event"] != "step" or time.monotonic() - self._last_flush > FLUSH_EVERY_S:
                self.flush()
        for listener in self.listeners:
            listener(event)
        return event

    def flush(self) -> None:
        self._write_events(self._pending)
        self._pending = []
        self._last_flush = time.monotonic()

    def progress(self, phase: str, done: int | None = None, total: int | None = None) -> None:
        """A phase that is not training steps (loading, validating, sampling) reporting how far it is.

        Listeners get every call; the status file (what `watch` reads) at most once a second, and
        metrics.jsonl never: progress is not a metric.
        """
        event = {"event": "progress", "phase": phase, "done": done, "total": total}
        if self.state is None:  # before setup: not yet placed in epoch/step/time
            for listener in self.listeners:
                listener(event)
            return
        self.emit(event, persist=False)
        self.sample_system()
        new = (self.status.get("phase") or {}).get("phase") != phase if self.status else False
        if self.status and (new or time.monotonic() - self._last_phase_write >= PHASE_WRITE_EVERY_S):
            # a phase's first report is written at once, so `runs` and `watch` never miss a short one
            self.set_status(phase={"phase": phase, "done": done, "total": total})
            self._last_phase_write = time.monotonic()

    def sample_system(self) -> None:
        """A `system` event (CPU %, memory, GPU memory on CUDA) when one is due: called after the step losses
        are read and from phase reports, so it never lands before the step lines of the steps it follows."""
        if self.state is None or self.system is None or not self.system.due():
            return
        figures = self.system.read(cuda=str(self.state.device).startswith("cuda"))
        if figures:
            self.emit({"event": "system", **figures})

    def phase_done(self) -> None:
        if self.status.get("phase"):
            self.set_status(phase=None)

    # ------------------------------------------------------------------ status
    def set_status(self, **fields: Any) -> None:
        self.status.update(fields, heartbeat=time.time(), **self._position())
        self._write_status(self.status)
        self._last_heartbeat = time.monotonic()

    def heartbeat(self) -> None:
        """Called every step: status.json rewritten when it is due, so a live run is never taken for crashed."""
        if time.monotonic() - self._last_heartbeat > HEARTBEAT_EVERY_S:
            self.set_status()

    # ------------------------------------------------------------------ a run's life
    def open(self, resume: bool, description: dict[str, Any], *, epochs: int, steps_per_epoch: int) -> None:
        """Record the config and a running status, and tidy what a killed run left."""
        if resume:
            self._remove_stale_temp_files()
        self._write_config(description)
        self.status = {
            "state": "running",
            **process_identity(),
            "started": time.time(),
            "error": None,
            "epochs": epochs,
            "steps_per_epoch": steps_per_epoch,
        }
        if resume:
            self.status["started"] = self._old_status().get("started", self.status["started"])
        s = self._require_state()
        self.status.update(best_val=s.best_val, best_epoch=s.best_epoch, last_val=s.last_val)
        self.set_status()

    def announce(self, resume: bool, fields: dict[str, Any]) -> None:
        """The `start` event, or for a resume the `resumed` marker, written in the same step as the lines
        the resume undoes leave metrics.jsonl (one line per step for jq and pandas)."""
        if resume:  # the training seconds before this session, as every view counts them
            for e in self._read_events():
                self.time.apply(e)
        marker = self.emit({"event": "resumed" if resume else "start", **fields}, persist=not resume)
        if resume:
            self._compact_events(self._require_state().step, marker)

    def finish(self, state: str, error: str | None = None, reason: str | None = None) -> str:
        """The run's end; `reason` says why a stop came when the user did not ask for it ("max-time")."""
        self.emit({"event": state, **({"error": error} if error else {}), **({"reason": reason} if reason else {})})
        self.flush()
        self.set_status(state=state, error=error, ended=time.time(), reason=reason)
        return state

    def setup_failed(self, exc: BaseException) -> str:
        """Training never started (device, data, checkpoint, an unwritable config.json): the folder says
        failed, with the error, instead of "running" until `runs` calls it crashed. Listeners hear it;
        metrics.jsonl, which holds what was trained, does not."""
        if is_disk_full(exc):
            return self.disk_full(exc)
        message = f"{type(exc).__name__}: {exc}"
        self.emit({"event": "failed", "error": message}, persist=False)
        if not self.status:
            self.status = self._old_status()  # keep what the folder knew: started, a resumed run's counters
        with contextlib.suppress(OSError):
            self.set_status(state="failed", error=message, ended=time.time())
        return "failed"

    def disk_full(self, exc: BaseException) -> str:
        """One line, not a chain of tracebacks; status first, so status and metrics never disagree: if even
        status.json cannot be written, nothing is, and the run reads as crashed (its pid is gone)."""
        path = getattr(exc, "filename", None) if isinstance(exc, DiskFull) else None
        if path:
            with contextlib.suppress(ValueError):
                path = str(Path(path).relative_to(self.run.path))
        message = f"disk full while writing {path}" if path else f"disk full ({exc})"
        self.say(message)
        self._pending = []
        if not self.status:
            self.status = self._old_status()
        try:
            self.set_status(state="failed", error=message, ended=time.time())
        except OSError:
            return "failed"
        with contextlib.suppress(OSError):
            self.emit({"event": "failed", "error": message}, persist=self.state is not None)
            self.flush()
        return "failed"

    # ------------------------------------------------------------------ files beside the events
    def checkpoint(self) -> None:
        """checkpoints/last.pt from the bound state, then a `checkpoint` event once it is in place."""
        self._write_checkpoint(self.run.last_checkpoint, self._require_state().state_dict)
        self.flush()
        self.emit({"event": "checkpoint", "path": "checkpoints/last.pt"})

    def snapshot(self, epoch: int) -> None:
        """--keep-snapshots: this epoch's weights only, for `diffdash eval --epoch N`."""
        self._write_checkpoint(self.run.checkpoints_dir / f"epoch_{epoch:04d}.pt", self._require_state().weights_dict)

    def grid(
        self, images: torch.Tensor, epoch: int, step: int | None, variant: str | None = None, nrow: int = 4
    ) -> str | None:
        """A preview grid under samples/ (a variant's in its own folder); its path in the run, if written."""
        path = self._write_grid(images, self.run.sample_path(epoch, step, variant), nrow)
        return f"samples/{path.name}" if path is not None else None

    def forward_strip(self, make: Callable[[], torch.Tensor | None]) -> None:
        """samples/forward.png, once per run (a resume keeps the first), for a process that draws one."""
        target = self.run.samples_dir / "forward.png"
        if not target.is_file() and (strip := make()) is not None:
            self._write_grid(strip, target, len(strip))

    # ------------------------------------------------------------------ internals
    def _position(self) -> dict[str, Any]:
        s = self.state
        if s is None:
            return {}
        return {
            "epoch": s.epoch, "step": s.step, "images": s.images, "time": round(s.clock.elapsed(), 3),
            "train_time": round(self.time.train, 3),
        }  # fmt: skip

    def _stamp(self) -> dict[str, Any]:
        s = self.state
        if s is None:
            return {"epoch": 0, "step": 0, "images": 0, "time": 0.0}
        return {"epoch": s.current_epoch, "step": s.step, "images": s.images, "time": round(s.clock.elapsed(), 3)}

    def _require_state(self) -> TrainingState:
        if self.state is None:
            raise RuntimeError("the recorder has no training state bound")
        return self.state

    def _old_status(self) -> dict[str, Any]:
        try:
            old = self.run.read_status()
        except (OSError, ValueError):
            return {}
        return dict(old)

    # the writes: each touches the run folder, and NullRecorder turns each off
    def _write_events(self, events: list[dict[str, Any]]) -> None:
        self.run.append_events(events)

    def _write_status(self, status: dict[str, Any]) -> None:
        self.run.write_status(status)

    def _write_config(self, description: dict[str, Any]) -> None:
        self.run.write_config(description)

    def _remove_stale_temp_files(self) -> None:
        remove_stale_temp_files(self.run)

    def _compact_events(self, step: int, marker: dict[str, Any]) -> None:
        compact_events(self.run, step, marker=marker)

    def _read_events(self) -> list[dict[str, Any]]:
        return self.run.read_events()[0]

    def _write_checkpoint(self, path: Path, make: Callable[[], dict[str, Any]]) -> None:
        save_checkpoint(path, make())

    def _write_grid(self, images: torch.Tensor, path: Path, nrow: int) -> Path | None:
        path.parent.mkdir(exist_ok=True)
        return save_grid(images.float(), path, nrow=nrow)


class NullRecorder(Recorder):
    """Events reach this process's listeners; nothing reaches the run folder (another process writes it)."""

    def _write_events(self, events: list[dict[str, Any]]) -> None:
        pass

    def _write_status(self, status: dict[str, Any]) -> None:
        pass

    def _write_config(self, description: dict[str, Any]) -> None:
        pass

    def _remove_stale_temp_files(self) -> None:
        pass

    def _compact_events(self, step: int, marker: dict[str, Any]) -> None:
        pass

    def _read_events(self) -> list[dict[str, Any]]:
        return []

    def _write_checkpoint(self, path: Path, make: Callable[[], dict[str, Any]]) -> None:
        pass

    def _write_grid(self, images: torch.Tensor, path: Path, nrow: int) -> Path | None:
        return None
