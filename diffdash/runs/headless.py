"""The headless listener: a progress line at least every `every_s` seconds, one line per epoch, a summary.

Written for `nohup … &` and CI logs as much as for a terminal: the periodic line says where training
stands (step or validation/sampling progress, training images/s, elapsed, ETA) even through a long
validation or a data load, because a ticker thread prints it when no event comes. In a terminal a
transient rich bar shows the epoch as well.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from diffdash.formats import format_clock, format_loss, plural
from diffdash.runs.progress import RunProgress


class HeadlessPrinter:
    def __init__(
        self,
        console: Console | None = None,
        *,
        every_s: float = 30.0,
        config: dict[str, Any] | None = None,
        run_dir: Any = None,
    ):
        self.console = console or Console()
        self.every_s = every_s
        self.run_dir = run_dir
        self.meter = RunProgress(config)
        self.progress: Progress | None = None
        self.task = None
        self.epochs = 0
        self.steps_per_epoch = 1
        self.best: tuple[float, int] | None = None
        self.last_val: float | None = None
        self._lock = threading.RLock()
        self._t0 = time.monotonic()
        self._last_line = self._t0
        self._ticker: threading.Thread | None = None
        self._closed = threading.Event()

    # ---------------------------------------------------------------- periodic lines
    def start_ticker(self) -> None:
        """Print the progress line on time even when no event comes (data loading, a long evaluation)."""
        self._closed.clear()
        self._ticker = threading.Thread(target=self._tick_loop, name="progress-lines", daemon=True)
        self._ticker.start()

    def _tick_loop(self) -> None:
        while not self._closed.wait(min(1.0, self.every_s / 4)):
            self.tick()

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if now - self._last_line >= self.every_s and not self._closed.is_set():
                self.print(self.progress_line(now), now)

    def progress_line(self, now: float) -> str:
        f = self.meter.figures(now, running=True)
        if not self.meter.last:
            return f"  {f['phase'] or 'starting …'}  ({now - self._t0:.0f} s)"
        parts = [f"epoch {f['epoch']}/{f['epochs']}"]
        if f["phase"]:
            parts.append(f["phase"])
        else:
            spe = self.meter.totals["steps_per_epoch"] or 1
            in_epoch = f["step"] - (max(f["epoch"], 1) - 1) * spe
            parts.append(f"step {in_epoch:,}/{spe:,} ({f['epoch_frac']:.0%})")
            if f["loss"] is not None:
                parts.append(f"loss {f['loss']:.4f}")
        if f["images_per_s"]:
            parts.append(f"{f['images_per_s']:,.0f} img/s")
        parts.append(f"elapsed {format_clock(f['elapsed'])}")
        parts.append(f"ETA {format_clock(f['eta'])}")
        return "  " + " · ".join(parts)

    def print(self, text: str, now: float | None = None) -> None:
        self.console.print(text, highlight=False, soft_wrap=True)
        self.console.file.flush()  # nohup's file is block-buffered: a line that is not flushed was not said
        self._last_line = time.monotonic() if now is None else now

    # ---------------------------------------------------------------- the terminal bar
    def _bar(self, epoch: int, done: int) -> None:
        if not self.console.is_terminal:
            return
        if self.progress is None:
            self.progress = Progress(
                TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(
                "", total=self.steps_per_epoch, epoch=epoch, epochs=self.epochs, loss="-"
            )
        self.progress.update(self.task, completed=done, epoch=epoch)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            if self.progress is not None:
                self.progress.stop()
                self.progress = None

    # ---------------------------------------------------------------- events
    def __call__(self, e: dict[str, Any]) -> None:
        with self._lock:
            now = time.monotonic()
            if e.get("event") == "resumed" and self.run_dir is not None:
                self._seed_time()
            self.meter.apply(e, now)
            self._print_event(e)
            if now - self._last_line >= self.every_s:
                self.print(self.progress_line(now), now)

    def _seed_time(self) -> None:
        """A resumed run: the training seconds of the sessions before this one, from its folder (the resume
        marker then puts them back to the checkpoint's), so the summary covers the whole run."""
        try:
            events = self.run_dir.read_events()[0]
        except (OSError, ValueError):
            return
        for e in events:
            self.meter.time.apply(e)

    def _print_event(self, e: dict[str, Any]) -> None:
        kind = e["event"]
        if kind in ("start", "resumed"):
            self.epochs, self.steps_per_epoch = e["epochs"], e["steps_per_epoch"]
            verb = f"resuming at step {e['step']} (epoch {e['epoch']})" if kind == "resumed" else "training"
            self.print(
                f"[bold]{verb}[/], {plural(self.epochs, 'epoch')}: {e['n_train']:,} images, "
                f"{plural(e['steps_per_epoch'], 'step')} an epoch, {e['parameters']:,} parameters on {e['device']}"
            )
        elif kind == "step":
            done = e["step"] - (e["epoch"] - 1) * self.steps_per_epoch
            self._bar(e["epoch"], done)
            if self.progress is not None and self.task is not None:
                self.progress.update(self.task, loss=f"{e['loss']:.4f}")
        elif kind == "epoch":
            self.close_bar()
            val = e.get("val_loss")
            if val is not None:
                self.last_val = val
                if self.best is None or val < self.best[0]:
                    self.best = (val, e["epoch"])
            self.print(
                f"epoch {e['epoch']:>3}/{self.epochs}  train {format_loss(e['train_loss'])}  val {format_loss(val)}"
                f"  {e['images_per_s']:,.0f} img/s  {e['seconds']:.1f} s"
                + (f" + validation {e['val_seconds']:.1f} s" if e.get("val_seconds") is not None else "")
            )
        elif kind == "sample":
            self.close_bar()
            self.print(f"           grid {e['path']}")
        elif kind == "eval":
            self.close_bar()
            hist = " ".join(str(c) for c in e["histogram"])
            self.print(
                f"           FID (MNIST classifier) {e['fid']:.2f}  confidence {e['confidence']:.3f}"
                f"  digits 0-9: {hist}  ({e['n']} samples, {e['weights']} weights, {e.get('seconds', 0):.1f} s)"
            )
            if e.get("accuracy") is not None:  # a class-conditional run: did it draw the digits asked for
                self.print(f"           accuracy {e['accuracy']:.3f} (the digit asked for, guidance {e['guidance']:g})")
        elif kind in ("finished", "stopped", "failed"):
            self.close_bar()
            colour = {"finished": "green", "stopped": "yellow", "failed": "red"}[kind]
            extra = f": {e['error']}" if e.get("error") else ""
            self.print(f"[{colour}]{kind}[/] at epoch {e['epoch']}, step {e['step']:,}{extra}")
            for line in self.summary(e):
                self.print(line)
            self._closed.set()  # the run is over: no progress line after its summary (torchrun may take a while)

    def close_bar(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def summary(self, e: dict[str, Any]) -> list[str]:
        """The closing lines: where the time went, the losses, and where the results are."""
        m = self.meter
        spent, rate = m.spent, m.time.images_per_s
        lines = [
            f"  time {format_clock(e.get('time'))}: training {format_clock(spent['train'])}"
            + (f" ({rate:,.0f} img/s)" if rate else "")
            + f", validation {format_clock(spent['val'])}, previews {format_clock(spent['preview'])}"
            + (f", evaluation {format_clock(spent['eval'])}" if spent["eval"] else "")
        ]
        if self.best is not None:
            lines.append(
                f"  best val {format_loss(self.best[0])} at epoch {self.best[1]}"
                f" · last val {format_loss(self.last_val)}"
            )
        if self.run_dir is not None:
            path = Path(self.run_dir.path)
            lines.append(f"  {plural(m.grids, 'grid')} in {path / 'samples'} · checkpoint {path / 'checkpoints'}")
        return lines
