"""The headless listener: a progress bar for the epoch and one line per epoch, with rich."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


def fmt_loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.5f}"


class HeadlessPrinter:
    def __init__(self, console: Console | None = None):
        self.console = console or Console()
        self.progress: Progress | None = None
        self.task = None
        self.epochs = 0
        self.steps_per_epoch = 1
        self.last_sample = ""

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
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def __call__(self, e: dict[str, Any]) -> None:
        kind = e["event"]
        if kind in ("start", "resumed"):
            self.epochs, self.steps_per_epoch = e["epochs"], e["steps_per_epoch"]
            verb = f"resuming at step {e['step']} (epoch {e['epoch']})" if kind == "resumed" else "training"
            self.console.print(
                f"[bold]{verb}[/], {self.epochs} epochs: {e['n_train']:,} images, "
                f"{e['steps_per_epoch']} steps an epoch, {e['parameters']:,} parameters on {e['device']}"
            )
        elif kind == "step":
            done = e["step"] - (e["epoch"] - 1) * self.steps_per_epoch
            self._bar(e["epoch"], done)
            if self.progress is not None and self.task is not None:
                self.progress.update(self.task, loss=f"{e['loss']:.4f}")
        elif kind == "epoch":
            self.close()
            self.console.print(
                f"epoch {e['epoch']:>3}/{self.epochs}  train {fmt_loss(e['train_loss'])}  val {fmt_loss(e['val_loss'])}"
                f"  {e['images_per_s']:,.0f} img/s  {e['seconds']:.1f} s"
            )
        elif kind == "sample":
            self.close()
            self.console.print(f"           grid {e['path']}")
        elif kind == "eval":
            self.close()
            hist = " ".join(str(c) for c in e["histogram"])
            self.console.print(
                f"           FID (MNIST classifier) {e['fid']:.2f}  confidence {e['confidence']:.3f}"
                f"  digits 0-9: {hist}  ({e['n']} samples, {e['weights']} weights, {e.get('seconds', 0):.1f} s)"
            )
        elif kind in ("finished", "stopped", "failed"):
            self.close()
            colour = {"finished": "green", "stopped": "yellow", "failed": "red"}[kind]
            extra = f": {e['error']}" if e.get("error") else ""
            self.console.print(f"[{colour}]{kind}[/] at epoch {e['epoch']}, step {e['step']}{extra}")
