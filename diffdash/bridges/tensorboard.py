"""TensorBoard event files from a run's events, for people who keep their experiments in TensorBoard
(or in W&B, through `wandb sync --sync-tensorboard DIR`).

One class takes a run's events one at a time: the engine calls it live as a listener
(`diffdash new --tensorboard DIR`), and `export_run` replays a run's metrics.jsonl through it
(`diffdash export RUN --tensorboard DIR`), so both paths log the same things in the same way.
Everything is logged at its training step (TensorBoard's x-axis):

    loss/train_step        every step's loss       train/lr, train/grad_norm   its learning rate and gradient norm
    system/cpu_percent, system/rss_bytes, system/gpu_mem_bytes   the training process's resources
    loss/train_epoch       an epoch's mean training loss      loss/val   its validation loss
    quality/fid_mnist_classifier, quality/digits_covered, quality/digit_entropy_bits, quality/confidence
    quality/accuracy       a class-conditional run's share of samples drawn as the digit asked for
    samples/preview        every preview grid (samples/<variant> for a cold run's extra grids)
    final/...              the run's final figures, which with its options fill the HParams tab

The writer is PyTorch's own `torch.utils.tensorboard.SummaryWriter`; the `tensorboard` package it needs
is an optional extra. No UI here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from diffdash.fsutil import read_json
from diffdash.metrics.histogram import histogram_entropy
from diffdash.store import RunDir
from diffdash.store.events import END_KINDS, drop_undone

INSTALL_HINT = "pip install 'diffdash[tensorboard]'"
EVENT_FILE_PREFIX = "events.out.tfevents."
LIVE_FLUSH_S = 10


class TensorBoardMissing(ImportError):
    """The optional `tensorboard` package is not installed."""


class ExportRefused(OSError):
    """The target folder holds something other than event files this bridge wrote."""


def require_tensorboard() -> None:
    """Fail before any work (training, exporting) when the writer could not be made."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise TensorBoardMissing(f"TensorBoard logging needs the tensorboard package: {INSTALL_HINT}") from None


def _summary_writer(logdir: Path, purge_step: int | None, flush_secs: int):
    require_tensorboard()
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(logdir), purge_step=purge_step, flush_secs=flush_secs)


def has_event_files(folder: Path) -> bool:
    return folder.is_dir() and any(p.name.startswith(EVENT_FILE_PREFIX) for p in folder.iterdir())


def hparams_of(config: dict[str, Any]) -> dict[str, Any]:
    """The run's options as TensorBoard hyperparameters: numbers and strings; lists as "16,32,32,16".

    A DDPM run leaves out the cold-diffusion options (they do nothing there); unset options are left out.
    """
    from diffdash.options.run_config import COLD_FIELDS, RunConfig

    out: dict[str, Any] = {}
    for name in [f.name for f in fields(RunConfig)] + ["parameters"]:
        if name in COLD_FIELDS and config.get("model") != "cold":
            continue
        value = config.get(name)
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = str(value).lower()  # TensorBoard would show a bool as the number 0 or 1
        if isinstance(value, bool | int | float | str):
            out[name] = value
    return out


class TensorBoardLog:
    """A listener writing one run's events to `logdir` (the run's own subfolder of the user's DIR).

    Opened by the run's 'start' or 'resumed' event: 'resumed' purges what the crash undid (TensorBoard's
    purge_step), or, when the folder holds no earlier log, first replays the run's history so the log
    is complete. A failing write is reported once through `say` and turns logging off: TensorBoard
    must never stop a training run.
    """

    def __init__(self, run: RunDir, logdir: str | Path, *, say: Callable[[str], None] | None = None):
        self.run = run
        self.logdir = Path(logdir)
        self.say = say or (lambda _m: None)
        self.writer: Any = None
        self.figures: dict[str, float] = {}
        self.last_step = 0
        self.failed = False
        self.closed = False

    # ------------------------------------------------------------------ the listener
    def __call__(self, event: dict[str, Any]) -> None:
        if self.failed or self.closed:
            return
        try:
            if self.writer is None:
                if event.get("event") not in ("start", "resumed"):
                    return  # setup notices before the run opens: nothing to plot yet
                self._open(event)
            self.log(event)
            if event.get("event") in END_KINDS:
                self.finish()
        except Exception as exc:  # noqa: BLE001 - logging elsewhere must not end training
            self.failed = True
            self.say(f"TensorBoard logging stopped: {type(exc).__name__}: {exc}")
            with contextlib.suppress(Exception):
                if self.writer is not None:
                    self.writer.close()

    def _open(self, first: dict[str, Any], flush_secs: int = LIVE_FLUSH_S) -> None:
        replay = False
        purge_step = None
        if first.get("event") == "resumed":
            if has_event_files(self.logdir):
                purge_step = int(first.get("step", 0)) + 1
            else:
                replay = True
        self.writer = _summary_writer(self.logdir, purge_step, flush_secs)
        if replay:  # the marker may not be in metrics.jsonl yet: apply it here, so what the crash undid stays out
            for e in drop_undone([*self.run.read_events()[0], first]):
                if e.get("event") != "resumed":
                    self.log(e)

    # ------------------------------------------------------------------ what each event becomes
    def log(self, e: dict[str, Any]) -> None:
        """Write one event's figures and images (no hparams: those come once, in `finish`)."""
        kind = e.get("event")
        step = int(e.get("step", 0))
        self.last_step = max(self.last_step, step)
        w = self.writer
        if kind == "step" and e.get("loss") is not None:
            w.add_scalar("loss/train_step", e["loss"], step)
            for key in ("lr", "grad_norm"):
                if e.get(key) is not None:
                    w.add_scalar(f"train/{key}", e[key], step)
        elif kind == "system":
            for key in ("cpu_percent", "rss_bytes", "gpu_mem_bytes"):
                if e.get(key) is not None:
                    w.add_scalar(f"system/{key}", e[key], step)
        elif kind == "epoch":
            self.figures["final/epochs"] = float(e["epoch"])
            if e.get("train_loss") is not None:
                w.add_scalar("loss/train_epoch", e["train_loss"], step)
                self.figures["final/last_train_loss"] = float(e["train_loss"])
            if e.get("val_loss") is not None:
                w.add_scalar("loss/val", e["val_loss"], step)
                self.figures["final/last_val_loss"] = float(e["val_loss"])
                best = self.figures.get("final/best_val_loss")
                self.figures["final/best_val_loss"] = min(best, e["val_loss"]) if best is not None else e["val_loss"]
        elif kind == "eval":
            self._log_eval(e, step)
        elif kind == "sample":
            self._log_grids(e, step)
        elif kind == "start":
            forward = self.run.samples_dir / "forward.png"
            if forward.is_file():
                self._add_png("samples/forward_process", forward, 0)

    def _log_eval(self, e: dict[str, Any], step: int) -> None:
        w = self.writer
        if e.get("fid") is not None:
            w.add_scalar("quality/fid_mnist_classifier", e["fid"], step)
            self.figures["final/fid_mnist_classifier"] = float(e["fid"])
        hist = e.get("histogram")
        if hist:
            covered = sum(1 for c in hist if c > 0)
            w.add_scalar("quality/digits_covered", covered, step)
            w.add_scalar("quality/digit_entropy_bits", histogram_entropy(hist) + 0.0, step)  # never -0.0
            self.figures["final/digits_covered"] = float(covered)
        if e.get("confidence") is not None:
            w.add_scalar("quality/confidence", e["confidence"], step)
        if e.get("accuracy") is not None:  # a class-conditional run: the share drawn as the digit asked for
            w.add_scalar("quality/accuracy", e["accuracy"], step)
            self.figures["final/accuracy"] = float(e["accuracy"])

    def _log_grids(self, e: dict[str, Any], step: int) -> None:
        if not e.get("path"):
            return
        main = self.run.path / e["path"]
        self._add_png("samples/preview", main, step)
        for variant in self.run.sample_variants():
            self._add_png(f"samples/{variant}", self.run.samples_dir / variant / main.name, step)

    def _add_png(self, tag: str, path: Path, step: int) -> None:
        if not path.is_file():
            return  # a grid deleted by hand: nothing to show, nothing to fail over
        import numpy as np
        from PIL import Image

        try:
            with Image.open(path) as img:
                pixels = np.asarray(img.convert("RGB" if img.mode in ("RGB", "RGBA") else "L"))
        except (OSError, ValueError) as exc:  # a truncated or damaged PNG: skipped with a word, as `report` does
            self.say(f"warning: skipped {path} ({str(exc).splitlines()[0] if str(exc) else 'unreadable'})")
            return
        self.writer.add_image(tag, pixels, step, dataformats="HW" if pixels.ndim == 2 else "HWC")

    # ------------------------------------------------------------------ the end
    def finish(self) -> None:
        """Options and final figures as hyperparameters (HParams tab), then flush and close."""
        if self.writer is None or self.closed:
            return
        from torch.utils.tensorboard.summary import hparams

        try:  # the plain file: hparams_of keeps only plain values, so no stricter check may hide the options
            config = read_json(self.run.config_path)
        except (OSError, ValueError):
            config = {}
        config = config if isinstance(config, dict) else {}
        metrics = dict(self.figures)
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, value, self.last_step)
        exp, ssi, sei = hparams(hparams_of(config), metrics)
        for summary in (exp, ssi, sei):
            self.writer.file_writer.add_summary(summary, self.last_step)
        self.writer.close()
        self.closed = True


def live_log(run: RunDir, tensorboard_dir: str | Path, say: Callable[[str], None] | None = None) -> TensorBoardLog:
    """The listener `diffdash new/resume --tensorboard DIR` adds to the engine: DIR/<run id>."""
    require_tensorboard()
    return TensorBoardLog(run, Path(tensorboard_dir) / run.id, say=say)


def export_run(run: RunDir, tensorboard_dir: str | Path, say: Callable[[str], None] | None = None) -> Path:
    """Replay a run's metrics.jsonl into DIR/<run id>; returns that folder.

    Written beside the target and renamed into place, so an interrupted export leaves no half log; an
    earlier export of the same run is replaced (its event files would otherwise double every point),
    but a folder holding anything else is refused.
    """
    require_tensorboard()
    root = Path(tensorboard_dir)
    target = root / run.id
    if target.exists() and not _only_event_files(target):
        raise ExportRefused(f"{target} exists and holds files other than TensorBoard event files; choose another DIR")
    root.mkdir(parents=True, exist_ok=True)
    partial = root / f".{run.id}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    log = TensorBoardLog(run, partial, say=say)
    log.writer = _summary_writer(partial, None, flush_secs=120)
    try:
        for event in run.events():
            log.log(event)
        log.finish()
    except BaseException:
        if log.writer is not None:
            log.writer.close()
        shutil.rmtree(partial, ignore_errors=True)
        raise
    old = root / f".{run.id}.old-{os.getpid()}"
    if target.exists():
        target.rename(old)
    partial.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def _only_event_files(folder: Path) -> bool:
    return folder.is_dir() and all(p.is_file() and p.name.startswith(EVENT_FILE_PREFIX) for p in folder.iterdir())
