"""The training engine: epochs, validation, preview grids and checkpoints, reported as events.

No UI in here. Events go to the run folder (metrics.jsonl, status.json) and to any listener in the
same process: the dashboard is one listener, the headless progress printer another. Control
(stop, pause, sample now, checkpoint now) is cooperative: flags checked at every training step and
inside sampling loops, so a request is honoured within one step.
"""

from __future__ import annotations

import contextlib
import math
import platform
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from diffdash import __version__
from diffdash.cadence import PreviewClock, parse_cadence
from diffdash.checkpoint import load_checkpoint, save_checkpoint
from diffdash.config import RunConfig
from diffdash.controls import Controls
from diffdash.data import MnistData, load_mnist, to_tensor
from diffdash.devices import apply_threads, autocast, resolve_device, resolve_precision
from diffdash.diffusion import build_process
from diffdash.diffusion.base import SamplingStopped
from diffdash.ema import EMA
from diffdash.fsutil import DiskFull, is_disk_full
from diffdash.images import save_grid
from diffdash.models.cnn import CNN, count_parameters, use_fast_layout
from diffdash.store import RunDir, compact_events, process_identity, remove_stale_temp_files

Listener = Callable[[dict[str, Any]], None]
PREVIEW_N = 16
FLUSH_EVERY_S = 2.0
HEARTBEAT_EVERY_S = 10.0
VAL_SEED_OFFSET = 7919
LOSS_READ_EVERY = 16  # on a GPU training losses stay on the device and are read this many steps at a time,
LOSS_READ_S = 1.0  # or after this many seconds, whichever comes first: one host sync per read, not per step


class NonFiniteLoss(RuntimeError):
    pass


def level_notice(config: RunConfig) -> str | None:
    """Cold runs whose degradation wastes most of its levels: one line for the dashboard."""
    if config.model != "cold":
        return None
    from diffdash.degradations.levels import saturation_notice

    return saturation_notice(config, short=True)


def data_notice(info: dict[str, Any]) -> str:
    return f"offline fallback: full MNIST not in {info['fallback_from']}, training on the bundled subset"


def build_network(config: RunConfig) -> torch.nn.Module:
    """The restorer network, initialised from the run's seed without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return CNN(config.n_hidden, norm=config.norm)


class Engine:
    def __init__(
        self,
        run: RunDir,
        config: RunConfig,
        *,
        listeners: list[Listener] | None = None,
        say: Callable[[str], None] = lambda _m: None,
        data: MnistData | None = None,
        controls: Controls | None = None,
        write: bool = True,
    ):
        self.run_dir = run
        self.config = config
        self.listeners = list(listeners or [])
        self.say = say
        self.data = data
        self.controls = controls or Controls()
        self.write = write  # False on non-zero ranks under data-parallel training
        self._pending: list[dict[str, Any]] = []
        self._last_flush = 0.0
        self._last_heartbeat = 0.0
        self.status: dict[str, Any] = {}

    # ------------------------------------------------------------------ events and status
    def emit(self, event: dict[str, Any], persist: bool = True) -> dict[str, Any]:
        epoch = self.epoch + 1 if self.perm is not None else self.epoch
        event = {
            "event": event.pop("event"),
            "epoch": epoch,
            "step": self.step,
            "images": self.images,
            "time": round(self.elapsed(), 3),
            **event,
        }
        if persist and self.write:
            self._pending.append(event)
            if event["event"] != "step" or time.monotonic() - self._last_flush > FLUSH_EVERY_S:
                self.flush()
        for listener in self.listeners:
            listener(event)
        return event

    def flush(self) -> None:
        if self.write:
            self.run_dir.append_events(self._pending)
        self._pending = []
        self._last_flush = time.monotonic()

    def set_status(self, **fields: Any) -> None:
        self.status.update(
            fields,
            heartbeat=time.time(),
            epoch=self.epoch,
            step=self.step,
            images=self.images,
            time=round(self.elapsed(), 3),
        )
        if self.write:
            self.run_dir.write_status(self.status)
        self._last_heartbeat = time.monotonic()

    def elapsed(self) -> float:
        return self._time_before + (time.monotonic() - self._t0)

    def progress(self, phase: str, done: int | None = None, total: int | None = None) -> None:
        """A phase that is not training steps (loading, validating, sampling) reporting how far it is.

        Listeners get every call; the status file (what `watch` reads) at most once a second, and
        metrics.jsonl never: progress is not a metric.
        """
        event = {"event": "progress", "phase": phase, "done": done, "total": total}
        if not hasattr(self, "perm"):  # before setup: not yet placed in epoch/step/time
            for listener in self.listeners:
                listener(event)
            return
        self.emit(event, persist=False)
        if self.status and time.monotonic() - getattr(self, "_last_phase_write", 0.0) >= 1.0:
            self.set_status(phase={"phase": phase, "done": done, "total": total})
            self._last_phase_write = time.monotonic()

    def _phase_done(self) -> None:
        if self.status.get("phase"):
            self.set_status(phase=None)

    # ------------------------------------------------------------------ setup
    def setup(self, resume: bool) -> None:
        cfg = self.config
        self.device = resolve_device(cfg.device)
        self.precision, self.precision_reason = resolve_precision(self.device, cfg.precision)
        self.threads = apply_threads(cfg.threads)
        if self.data is None:
            self.progress("loading data")
            self.data = load_mnist(cfg.dataset, cfg.data_dir, say=self.say)
        d = self.data
        train = d.train_images[: cfg.train_limit] if cfg.train_limit else d.train_images
        test = d.test_images[: cfg.val_limit] if cfg.val_limit else d.test_images
        self.train_x = to_tensor(train, self.device)
        self.val_x = to_tensor(test, self.device)
        self.net = use_fast_layout(build_network(cfg).to(self.device), self.device)
        self.process = build_process(cfg, self.device)
        if hasattr(self.process, "attach_data"):
            self.process.attach_data(self.train_x, self.val_x)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr, foreach=True)  # one kernel per op, not per tensor
        self.ema = EMA(self.net, cfg.ema) if cfg.ema is not None else None
        self.quality = None
        if cfg.eval_every is not None:
            from diffdash.metrics.in_training import TrainingEval

            self.quality = TrainingEval(cfg, self.data, len(self.train_x), self.say)
        self.gen = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.steps_per_epoch = math.ceil(len(self.train_x) / cfg.batch_size)
        self.epoch, self.step, self.images = 0, 0, 0
        self.batch, self.perm = 0, None
        self.loss_sum, self.loss_count = 0.0, 0
        self._losses: list[tuple[torch.Tensor, dict[str, Any]]] = []
        self._losses_read = time.monotonic()
        # on the CPU reading a loss stalls nothing (the step has already run), so each is read at once
        # and listeners see every step as it happens; elsewhere a read waits for the device's queue
        self.loss_read_every = 1 if self.device == "cpu" else LOSS_READ_EVERY
        self.best_val: float | None = None
        self.best_epoch: int | None = None
        self.last_val: float | None = None
        self.epoch_end_due: int | None = None  # an epoch whose grid/evaluation a stop cut short
        self._time_before = 0.0
        self._t0 = time.monotonic()
        if resume and self.run_dir.last_checkpoint.is_file():  # else killed before its first: restart
            self._restore()
        self.preview_clock = PreviewClock(parse_cadence(cfg.sample_every), self.elapsed())

    def _restore(self) -> None:
        ck = load_checkpoint(self.run_dir.last_checkpoint, self.device)
        self.net.load_state_dict(ck["model"])
        self.opt.load_state_dict(ck["optimizer"])
        if self.ema is not None and ck.get("ema") is not None:
            self.ema.restore(ck["ema"])
        self.gen.set_state(ck["generator"])
        self.epoch, self.step, self.images = ck["epoch"], ck["step"], ck["images"]
        self.batch = ck["batch"]
        self.perm = ck["perm"].to(self.device) if ck.get("perm") is not None else None
        self.loss_sum, self.loss_count = ck["loss_sum"], ck["loss_count"]
        self.best_val, self.best_epoch, self.last_val = ck.get("best_val"), ck.get("best_epoch"), ck.get("last_val")
        self.epoch_end_due = ck.get("epoch_end_due")
        self._time_before = ck.get("time", 0.0)

    def describe(self) -> dict[str, Any]:
        """What config.json records beyond the options: parameter count, data, device, versions."""
        return {
            **self.config.to_dict(),
            "parameters": count_parameters(self.net),
            "data": self.data.info,
            "resolved_device": self.device,
            "resolved_precision": self.precision,
            "precision_reason": self.precision_reason,
            "resolved_threads": self.threads,
            "steps_per_epoch": self.steps_per_epoch,
            "n_train": len(self.train_x),
            "n_val": len(self.val_x),
            "versions": {"diffdash": __version__, "torch": torch.__version__, "python": platform.python_version()},
        }

    # ------------------------------------------------------------------ checkpoints and samples
    def checkpoint(self) -> None:
        self._read_losses()  # the epoch's loss sum is complete in what is saved
        if not self.write:
            return
        save_checkpoint(
            self.run_dir.last_checkpoint,
            {
                "model": self.net.state_dict(),
                "optimizer": self.opt.state_dict(),
                "ema": self.ema.checkpoint() if self.ema is not None else None,
                "generator": self.gen.get_state(),
                "epoch": self.epoch,
                "step": self.step,
                "images": self.images,
                "batch": self.batch,
                "perm": self.perm.cpu() if self.perm is not None else None,
                "loss_sum": self.loss_sum,
                "loss_count": self.loss_count,
                "best_val": self.best_val,
                "best_epoch": self.best_epoch,
                "last_val": self.last_val,
                "epoch_end_due": self.epoch_end_due,
                "time": self.elapsed(),
                "config": self.config.to_dict(),
            },
        )
        self.flush()
        self.emit({"event": "checkpoint", "path": "checkpoints/last.pt"})

    def sampling_net(self) -> torch.nn.Module:
        """The weights previews and --eval-every sample from: the EMA copy or the trained net."""
        return self.ema.module if self.ema is not None and self.config.weights_used() == "ema" else self.net

    def snapshot(self, epoch: int) -> None:
        """--keep-snapshots: this epoch's weights only (model + EMA), for `diffdash eval --epoch N`."""
        if not self.write:
            return
        save_checkpoint(
            self.run_dir.checkpoints_dir / f"epoch_{epoch:04d}.pt",
            {
                "model": self.net.state_dict(),
                "ema": self.ema.checkpoint() if self.ema is not None else None,
                "epoch": self.epoch,
                "step": self.step,
                "images": self.images,
                "time": self.elapsed(),
                "config": self.config.to_dict(),
            },
        )

    def evaluate(self) -> None:
        """--eval-every: FID (MNIST classifier), digit histogram and confidence of fresh samples."""
        net = self.sampling_net()
        net.eval()
        try:
            event = self.quality.evaluate(
                self.process, net, self.config.weights_used(), should_stop=self.controls.should_stop
            )
        finally:
            self.net.train()
        self.emit(event)

    def _sampling_check(self) -> Callable[[], bool]:
        """The samplers call should_stop once per step: counting the calls reports sampling progress."""
        cfg, done = self.config, 0
        total = None if cfg.model == "cold" else min(cfg.sample_steps, cfg.n_T) if cfg.sampler == "ddim" else cfg.n_T

        def check() -> bool:
            nonlocal done
            self.progress("sampling", done, total)
            done += 1
            return self.controls.should_stop()

        return check

    def preview(self, epoch: int, mid_epoch: bool = False) -> None:
        self._read_losses()  # a stop inside sampling finds no loss unread
        cfg = self.config
        net = self.sampling_net()
        net.eval()
        started = time.monotonic()
        should_stop = self._sampling_check()
        try:
            with autocast(self.device, self.precision):
                x = self.process.sample(
                    net,
                    PREVIEW_N,
                    sampler=cfg.sampler,
                    steps=cfg.sample_steps,
                    seed=cfg.sample_seed,
                    should_stop=should_stop,
                )
                variants = {}
                if hasattr(self.process, "preview_variants"):
                    variants = self.process.preview_variants(
                        net, PREVIEW_N, seed=cfg.sample_seed, should_stop=should_stop
                    )
        finally:
            self.net.train()
        seconds = time.monotonic() - started
        if mid_epoch and hasattr(self, "_epoch_t0"):
            self._epoch_t0 += seconds  # an epoch's images/s counts training time only
        self.preview_clock.drawn(self.elapsed())
        self._phase_done()
        step = self.step if mid_epoch else None
        path = save_grid(x.float(), self.run_dir.sample_path(epoch, step), nrow=4) if self.write else None
        for variant, images in variants.items():
            if self.write:
                target = self.run_dir.sample_path(epoch, step, variant)
                target.parent.mkdir(exist_ok=True)
                save_grid(images.float(), target, nrow=4 if len(images) == PREVIEW_N else len(images))  # or a strip
        self.emit(
            {
                "event": "sample",
                "path": f"samples/{path.name}" if path else None,
                "sampler": cfg.sampler,
                "sample_steps": cfg.sample_steps,
                "weights": cfg.weights_used(),
                "seconds": round(seconds, 3),
            }
        )

    @torch.inference_mode()
    def validate(self) -> float:
        """Validation loss on the test split: the training loss, with fixed draws so epochs compare.

        Batches stay at the training batch size: the noise is drawn batch by batch, so larger ones
        would change the draws, and on the CPU they measured no faster. The sum stays on the device
        (in float64, as the Python float it replaces) and is read once.
        """
        self.net.eval()
        gen = torch.Generator(device=self.device).manual_seed(self.config.seed + VAL_SEED_OFFSET)
        total, count = torch.zeros((), dtype=torch.float64, device=self.device), 0
        for i in range(0, len(self.val_x), self.config.batch_size):
            self.progress("validating", i, len(self.val_x))
            if self.controls.should_stop():
                raise SamplingStopped()
            x = self.val_x[i : i + self.config.batch_size]
            with autocast(self.device, self.precision):
                loss = self.process.loss(self.net, x, gen)
            total += loss.double() * len(x)
            count += len(x)
        self.net.train()
        return float(total) / count

    # ------------------------------------------------------------------ the loop
    def run(self, resume: bool = False) -> str:
        """Train until done, stopped or failed; returns the final state."""
        self.setup(resume)
        try:
            self._open(resume)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            return self._disk_full(exc)
        try:
            self._loop()
        except SamplingStopped:
            return self._finish("stopped", None, checkpoint=True)
        except NonFiniteLoss as exc:
            return self._finish("failed", str(exc), checkpoint=False)
        except Exception as exc:  # noqa: BLE001 - a crash in training is reported, not swallowed
            if is_disk_full(exc):
                return self._disk_full(exc)
            self.say(traceback.format_exc())
            return self._finish("failed", f"{type(exc).__name__}: {exc}", checkpoint=False)
        return self._finish("finished", None, checkpoint=False)

    def _open(self, resume: bool) -> None:
        """Record the config and a running status, tidy what a killed run left, announce the start."""
        if resume and self.write:
            remove_stale_temp_files(self.run_dir)
        if self.write:
            self.run_dir.write_config(self.describe())
        self.status = {
            "state": "running",
            **process_identity(),
            "started": time.time(),
            "error": None,
            "epochs": self.config.epochs,
            "steps_per_epoch": self.steps_per_epoch,
        }
        if resume:
            try:
                old = self.run_dir.read_status()
                self.status["started"] = old.get("started", self.status["started"])
            except (OSError, ValueError):
                pass
        self.status.update(best_val=self.best_val, best_epoch=self.best_epoch, last_val=self.last_val)
        self.set_status()
        forward = self.run_dir.samples_dir / "forward.png"
        if self.write and hasattr(self.process, "forward_strip") and not forward.is_file():
            strip = self.process.forward_strip(self.val_x[:1]).float()
            save_grid(strip, forward, nrow=len(strip))
        opening = self.emit(
            {
                "event": "resumed" if resume else "start",
                "epochs": self.config.epochs,
                "steps_per_epoch": self.steps_per_epoch,
                "n_train": len(self.train_x),
                "n_val": len(self.val_x),
                "parameters": count_parameters(self.net),
                "device": self.device,
                **({"data_notice": data_notice(self.data.info)} if self.data.info.get("fallback_from") else {}),
                **({"level_notice": notice} if not resume and (notice := level_notice(self.config)) else {}),
            },
            persist=not resume,
        )
        if resume and self.write:  # one line per step for jq and pandas: the undone lines go, the marker comes
            compact_events(self.run_dir, self.step, marker=opening)

    def _disk_full(self, exc: BaseException) -> str:
        """One line, not a chain of tracebacks; status first, so status and metrics never disagree: if even
        status.json cannot be written, nothing is, and the run reads as crashed (its pid is gone)."""
        path = getattr(exc, "filename", None) if isinstance(exc, DiskFull) else None
        if path:
            with contextlib.suppress(ValueError):
                path = str(Path(path).relative_to(self.run_dir.path))
        message = f"disk full while writing {path}" if path else f"disk full ({exc})"
        self.say(message)
        self._pending = []
        try:
            self.set_status(state="failed", error=message, ended=time.time())
        except OSError:
            return "failed"
        with contextlib.suppress(OSError):
            self.emit({"event": "failed", "error": message})
            self.flush()
        return "failed"

    def _finish(self, state: str, error: str | None, checkpoint: bool) -> str:
        if checkpoint:
            self.checkpoint()
        self.emit({"event": state, **({"error": error} if error else {})})
        self.flush()
        self.set_status(state=state, error=error, ended=time.time())
        return state

    def _read_losses(self) -> None:
        """Read the losses kept on the device (one sync), add them to the epoch's mean and emit one `step`
        event per step, stamped with that step's own counters and time. A non-finite loss fails the run
        at its exact step, with the counters put back to the step before it (no checkpoint follows)."""
        if not self._losses:
            return
        pending, self._losses = self._losses, []
        self._losses_read = time.monotonic()
        values = torch.stack([loss for loss, _ in pending]).tolist()
        for value, (_, info) in zip(values, pending, strict=True):
            before = info["before"]
            if not math.isfinite(value):
                self.step, self.images, self.batch = before["step"], before["images"], before["batch"]
                raise NonFiniteLoss(f"loss became {value} at step {before['step'] + 1} (epoch {before['epoch']})")
            self.loss_sum += value * info["n"]
            self.loss_count += info["n"]
            self.emit(
                {
                    "event": "step",
                    "epoch": before["epoch"],
                    "step": before["step"] + 1,
                    "images": before["images"] + info["n"],
                    "time": info["time"],
                    "loss": value,
                }
            )

    def _wait_while_paused(self) -> None:
        if not self.controls.paused.is_set():
            return
        self.flush()
        self.set_status(paused=True)
        started = time.monotonic()
        while self.controls.paused.is_set() and not self.controls.should_stop():
            time.sleep(0.05)
        paused_s = time.monotonic() - started  # paused time is neither training time nor an epoch's
        self._t0 += paused_s
        if hasattr(self, "_epoch_t0"):
            self._epoch_t0 += paused_s
        self.set_status(paused=False)

    def _loop(self) -> None:
        cfg = self.config
        n = len(self.train_x)
        if self.epoch_end_due is not None:
            self._end_epoch(self.epoch_end_due)
        while self.epoch < cfg.epochs:
            epoch = self.epoch + 1
            if self.perm is None:
                self.perm = torch.randperm(n, generator=self.gen, device=self.device)
                self.batch, self.loss_sum, self.loss_count = 0, 0.0, 0
                self._epoch_t0, self._epoch_images = time.monotonic(), 0
            elif not hasattr(self, "_epoch_t0"):
                self._epoch_t0, self._epoch_images = time.monotonic(), 0
            while self.batch < self.steps_per_epoch:
                self._step(epoch)
                if self.batch < self.steps_per_epoch and self.preview_clock.due_in_epoch(self.step, self.elapsed()):
                    self.preview(epoch, mid_epoch=True)
            seconds = time.monotonic() - self._epoch_t0
            train_loss = self.loss_sum / max(self.loss_count, 1)
            val_started = time.monotonic()
            val = self.validate()
            self.epoch, self.perm, self.last_val = epoch, None, val
            if self.best_val is None or val < self.best_val:
                self.best_val, self.best_epoch = val, epoch
            self.emit(
                {
                    "event": "epoch",
                    "train_loss": train_loss,
                    "val_loss": val,
                    "seconds": round(seconds, 3),
                    "images_per_s": round(self._epoch_images / max(seconds, 1e-9), 1),
                    "val_seconds": round(time.monotonic() - val_started, 3),
                }
            )
            self.set_status(best_val=self.best_val, best_epoch=self.best_epoch, last_val=val, phase=None)
            del self._epoch_t0
            self._end_epoch(epoch)

    def _end_epoch(self, epoch: int) -> None:
        """An epoch's snapshot, grid and evaluation, then its checkpoint. A stop in here checkpoints with
        `epoch_end_due` set, so a resume draws the grid and evaluation the stop cut short before going on."""
        cfg = self.config
        self.epoch_end_due = epoch
        if cfg.keep_snapshots:
            self.snapshot(epoch)
        if self.preview_clock.due_at_epoch_end(epoch, self.step, self.elapsed()) or epoch == cfg.epochs:
            self.preview(epoch)
        if self.quality is not None and self.quality.due(epoch):
            self.evaluate()
        self.epoch_end_due = None
        if epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs:
            self.checkpoint()

    def _step(self, epoch: int) -> None:
        c = self.controls
        if c.stop.is_set() or c.paused.is_set():
            self._read_losses()  # a stop or pause leaves no loss unread (nor a non-finite one unreported)
        if c.stop.is_set():
            raise SamplingStopped()
        self._wait_while_paused()
        if c.stop.is_set():
            raise SamplingStopped()
        bs = self.config.batch_size
        x = self.train_x[self.perm[self.batch * bs : (self.batch + 1) * bs]]
        with autocast(self.device, self.precision):
            loss = self.process.loss(self.net, x, self.gen)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.ema is not None:
            self.ema.update(self.net)
        before = {"epoch": epoch, "step": self.step, "images": self.images, "batch": self.batch}
        self.batch += 1
        self.step += 1
        self.images += len(x)
        self._epoch_images += len(x)
        self._losses.append((loss.detach(), {"before": before, "n": len(x), "time": round(self.elapsed(), 3)}))
        if (
            len(self._losses) >= self.loss_read_every
            or time.monotonic() - self._losses_read >= LOSS_READ_S
            or self.batch >= self.steps_per_epoch
            or c.sample_now.is_set()
            or c.checkpoint_now.is_set()
        ):
            self._read_losses()
        if c.sample_now.is_set():
            c.sample_now.clear()
            self.preview(epoch, mid_epoch=True)
        if c.checkpoint_now.is_set():
            c.checkpoint_now.clear()
            self.checkpoint()
        if time.monotonic() - self._last_heartbeat > HEARTBEAT_EVERY_S:
            self.set_status()
