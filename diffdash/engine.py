"""The training engine: epochs, validation, preview grids and checkpoints, reported as events.

No UI in here. Events go to the run folder (metrics.jsonl, status.json) and to any listener in the
same process: the dashboard is one listener, the headless progress printer another. Control
(stop, pause, sample now, checkpoint now) is cooperative: flags checked at every training step and
inside sampling loops, so a request is honoured within one step.
"""

from __future__ import annotations

import math
import platform
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import torch

from diffdash import __version__
from diffdash.checkpoint import load_checkpoint, save_checkpoint
from diffdash.config import RunConfig
from diffdash.data import MnistData, load_mnist, to_tensor
from diffdash.devices import autocast, check_precision, resolve_device
from diffdash.diffusion import build_process
from diffdash.diffusion.base import SamplingStopped
from diffdash.ema import EMA
from diffdash.images import save_grid
from diffdash.models.cnn import CNN, count_parameters
from diffdash.store import RunDir, process_identity

Listener = Callable[[dict[str, Any]], None]
PREVIEW_N = 16
FLUSH_EVERY_S = 2.0
HEARTBEAT_EVERY_S = 10.0
VAL_SEED_OFFSET = 7919


class NonFiniteLoss(RuntimeError):
    pass


class Controls:
    """Thread-safe requests from a UI or signal handler, read by the engine at every step."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.sample_now = threading.Event()
        self.checkpoint_now = threading.Event()

    def should_stop(self) -> bool:
        return self.stop.is_set()


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
    def emit(self, event: dict[str, Any], persist: bool = True) -> None:
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

    # ------------------------------------------------------------------ setup
    def setup(self, resume: bool) -> None:
        cfg = self.config
        self.device = resolve_device(cfg.device)
        check_precision(self.device, cfg.precision)
        if self.data is None:
            self.data = load_mnist(cfg.dataset, cfg.data_dir, say=self.say)
        d = self.data
        train = d.train_images[: cfg.train_limit] if cfg.train_limit else d.train_images
        test = d.test_images[: cfg.val_limit] if cfg.val_limit else d.test_images
        self.train_x = to_tensor(train, self.device)
        self.val_x = to_tensor(test, self.device)
        self.net = build_network(cfg).to(self.device)
        self.process = build_process(cfg, self.device)
        if hasattr(self.process, "attach_data"):
            self.process.attach_data(self.train_x, self.val_x)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
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
        self.best_val: float | None = None
        self.best_epoch: int | None = None
        self.last_val: float | None = None
        self._time_before = 0.0
        self._t0 = time.monotonic()
        if resume:
            self._restore()

    def _restore(self) -> None:
        ck = load_checkpoint(self.run_dir.last_checkpoint, self.device)
        self.net.load_state_dict(ck["model"])
        self.opt.load_state_dict(ck["optimizer"])
        if self.ema is not None and ck.get("ema") is not None:
            self.ema.load_state_dict(ck["ema"])
        self.gen.set_state(ck["generator"])
        self.epoch, self.step, self.images = ck["epoch"], ck["step"], ck["images"]
        self.batch = ck["batch"]
        self.perm = ck["perm"].to(self.device) if ck.get("perm") is not None else None
        self.loss_sum, self.loss_count = ck["loss_sum"], ck["loss_count"]
        self.best_val, self.best_epoch, self.last_val = ck.get("best_val"), ck.get("best_epoch"), ck.get("last_val")
        self._time_before = ck.get("time", 0.0)

    def describe(self) -> dict[str, Any]:
        """What config.json records beyond the options: parameter count, data, device, versions."""
        return {
            **self.config.to_dict(),
            "parameters": count_parameters(self.net),
            "data": self.data.info,
            "resolved_device": self.device,
            "steps_per_epoch": self.steps_per_epoch,
            "n_train": len(self.train_x),
            "n_val": len(self.val_x),
            "versions": {"diffdash": __version__, "torch": torch.__version__, "python": platform.python_version()},
        }

    # ------------------------------------------------------------------ checkpoints and samples
    def checkpoint(self) -> None:
        if not self.write:
            return
        save_checkpoint(
            self.run_dir.last_checkpoint,
            {
                "model": self.net.state_dict(),
                "optimizer": self.opt.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None,
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
                "ema": self.ema.state_dict() if self.ema is not None else None,
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

    def preview(self, epoch: int, mid_epoch: bool = False) -> None:
        cfg = self.config
        net = self.sampling_net()
        net.eval()
        try:
            with autocast(self.device, cfg.precision):
                x = self.process.sample(
                    net,
                    PREVIEW_N,
                    sampler=cfg.sampler,
                    steps=cfg.sample_steps,
                    seed=cfg.sample_seed,
                    should_stop=self.controls.should_stop,
                )
                variants = {}
                if hasattr(self.process, "preview_variants"):
                    variants = self.process.preview_variants(
                        net, PREVIEW_N, seed=cfg.sample_seed, should_stop=self.controls.should_stop
                    )
        finally:
            self.net.train()
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
            }
        )

    @torch.no_grad()
    def validate(self) -> float:
        """Validation loss on the test split: the training loss, with fixed draws so epochs compare."""
        self.net.eval()
        gen = torch.Generator(device=self.device).manual_seed(self.config.seed + VAL_SEED_OFFSET)
        total, count = 0.0, 0
        for i in range(0, len(self.val_x), self.config.batch_size):
            if self.controls.should_stop():
                raise SamplingStopped()
            x = self.val_x[i : i + self.config.batch_size]
            with autocast(self.device, self.config.precision):
                loss = self.process.loss(self.net, x, gen)
            total += float(loss.detach()) * len(x)
            count += len(x)
        self.net.train()
        return total / count

    # ------------------------------------------------------------------ the loop
    def run(self, resume: bool = False) -> str:
        """Train until done, stopped or failed; returns the final state."""
        self.setup(resume)
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
        if not resume and self.write and hasattr(self.process, "forward_strip"):
            strip = self.process.forward_strip(self.val_x[:1]).float()
            save_grid(strip, self.run_dir.samples_dir / "forward.png", nrow=len(strip))
        self.emit(
            {
                "event": "resumed" if resume else "start",
                "epochs": self.config.epochs,
                "steps_per_epoch": self.steps_per_epoch,
                "n_train": len(self.train_x),
                "parameters": count_parameters(self.net),
                "device": self.device,
                **({"data_notice": data_notice(self.data.info)} if self.data.info.get("fallback_from") else {}),
            }
        )
        try:
            self._loop()
        except SamplingStopped:
            return self._finish("stopped", None, checkpoint=True)
        except NonFiniteLoss as exc:
            return self._finish("failed", str(exc), checkpoint=False)
        except Exception as exc:  # noqa: BLE001 - a crash in training is reported, not swallowed
            self.say(traceback.format_exc())
            return self._finish("failed", f"{type(exc).__name__}: {exc}", checkpoint=False)
        return self._finish("finished", None, checkpoint=False)

    def _finish(self, state: str, error: str | None, checkpoint: bool) -> str:
        if checkpoint:
            self.checkpoint()
        self.emit({"event": state, **({"error": error} if error else {})})
        self.flush()
        self.set_status(state=state, error=error, ended=time.time())
        return state

    def _wait_while_paused(self) -> None:
        if not self.controls.paused.is_set():
            return
        self.flush()
        self.set_status(paused=True)
        while self.controls.paused.is_set() and not self.controls.should_stop():
            time.sleep(0.05)
            self._t0 += 0.05  # paused time is not training time
        self.set_status(paused=False)

    def _loop(self) -> None:
        cfg = self.config
        n = len(self.train_x)
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
            seconds = time.monotonic() - self._epoch_t0
            train_loss = self.loss_sum / max(self.loss_count, 1)
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
                }
            )
            self.set_status(best_val=self.best_val, best_epoch=self.best_epoch, last_val=val)
            del self._epoch_t0
            if cfg.keep_snapshots:
                self.snapshot(epoch)
            if epoch % cfg.sample_every == 0 or epoch == cfg.epochs:
                self.preview(epoch)
            if self.quality is not None and self.quality.due(epoch):
                self.evaluate()
            if epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs:
                self.checkpoint()

    def _step(self, epoch: int) -> None:
        c = self.controls
        if c.stop.is_set():
            raise SamplingStopped()
        self._wait_while_paused()
        if c.stop.is_set():
            raise SamplingStopped()
        bs = self.config.batch_size
        x = self.train_x[self.perm[self.batch * bs : (self.batch + 1) * bs]]
        with autocast(self.device, self.config.precision):
            loss = self.process.loss(self.net, x, self.gen)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise NonFiniteLoss(f"loss became {value} at step {self.step + 1} (epoch {epoch})")
        self.opt.step()
        if self.ema is not None:
            self.ema.update(self.net)
        self.batch += 1
        self.step += 1
        self.images += len(x)
        self._epoch_images += len(x)
        self.loss_sum += value * len(x)
        self.loss_count += len(x)
        self.emit({"event": "step", "loss": value})
        if c.sample_now.is_set():
            c.sample_now.clear()
            self.preview(epoch, mid_epoch=True)
        if c.checkpoint_now.is_set():
            c.checkpoint_now.clear()
            self.checkpoint()
        if time.monotonic() - self._last_heartbeat > HEARTBEAT_EVERY_S:
            self.set_status()
