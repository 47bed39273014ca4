"""The training loop, top to bottom: epochs of steps, previews when due, validation, the epoch's end.

Stop, pause, sample-now and checkpoint-now are cooperative: flags checked at every step and inside
sampling loops, so a request is honoured within one step. Losses stay on the device and are read a few
steps at a time (losses.py).
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable

import torch

from diffdash.controls import Controls
from diffdash.diffusion.base import SamplingStopped
from diffdash.distributed.group import is_peer_failure
from diffdash.fsutil import is_disk_full
from diffdash.training.losses import NonFiniteLoss, StepLosses
from diffdash.training.one_process import Step
from diffdash.training.previews import Previews
from diffdash.training.recorder import Recorder
from diffdash.training.session import Session, validation_loss
from diffdash.training.state import EpochTimer, Position, TrainingState
from diffdash.training.step_figures import current_lr, total_grad_norm


class Trainer:
    def __init__(
        self,
        session: Session,
        state: TrainingState,
        recorder: Recorder,
        previews: Previews,
        controls: Controls,
        say: Callable[[str], None],
        loss_read_every: int,
        parallel: Step,
    ):
        self.session, self.config, self.state = session, session.config, state
        self.recorder, self.previews, self.controls, self.say = recorder, previews, controls, say
        self.losses = StepLosses(loss_read_every)
        self.parallel = parallel  # the network as trained: by itself, or wrapped to average over workers
        self.timer = EpochTimer()  # restarted as each epoch starts
        self.max_time_s = self.config.max_time_s()  # --max-time: training seconds (runs/time_spent.py) before a stop
        self.out_of_time = False
        self.evaluated_step: int | None = None  # the step of the last --eval-every score

    def train(self) -> str:
        """Train until done, stopped or failed; returns the final state."""
        try:
            self.epochs()
        except SamplingStopped:
            self.checkpoint()
            if self.out_of_time:
                self.closing_evaluation()
            return self.recorder.finish("stopped", reason="max-time" if self.out_of_time else None)
        except NonFiniteLoss as exc:
            return self.recorder.finish("failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - a crash in training is reported, not swallowed
            if self.parallel.world.distributed and is_peer_failure(exc):
                raise  # another worker is gone: torchrun restarts the group or gives up, the run is not over
            if is_disk_full(exc):
                return self.recorder.disk_full(exc)
            self.say(traceback.format_exc())
            return self.recorder.finish("failed", f"{type(exc).__name__}: {exc}")
        return self.recorder.finish("finished")

    def epochs(self) -> None:
        s, cfg, steps_per_epoch = self.state, self.config, self.session.steps_per_epoch
        if s.epoch_end_due is not None:
            self.end_epoch(s.epoch_end_due)
        while s.epoch < cfg.epochs:
            epoch = s.epoch + 1
            if s.perm is None:
                s.perm = torch.randperm(len(self.session.train_x), generator=s.gen, device=self.session.device)
                s.batch, s.loss_sum, s.loss_count = 0, 0.0, 0
                s.epoch_train_s, s.epoch_images = 0.0, 0
            self.timer = EpochTimer.carried(s.epoch_train_s, s.epoch_images)
            while s.batch < steps_per_epoch:
                self.step(epoch)
                if s.batch < steps_per_epoch and self.previews.clock.due_in_epoch(s.step, s.clock.elapsed()):
                    self.preview(epoch, mid_epoch=True)
            seconds = self.timer.seconds()
            s.epoch_train_s, s.epoch_images = seconds, self.timer.images  # what a stop in validation saves
            train_loss = s.loss_sum / max(s.loss_count, 1)
            val_started = time.monotonic()
            val = validation_loss(self.session, s.net, self.recorder.progress, self.controls.should_stop)
            s.epoch, s.perm, s.last_val = epoch, None, val
            if s.best_val is None or val < s.best_val:
                s.best_val, s.best_epoch = val, epoch
            self.recorder.emit(
                {
                    "event": "epoch",
                    "train_loss": train_loss,
                    "val_loss": val,
                    "seconds": round(seconds, 3),
                    "images_per_s": round(self.timer.images / max(seconds, 1e-9), 1),
                    "val_seconds": round(time.monotonic() - val_started, 3),
                }
            )
            self.recorder.set_status(best_val=s.best_val, best_epoch=s.best_epoch, last_val=val, phase=None)
            self.end_epoch(epoch)

    def step(self, epoch: int) -> None:
        """One optimiser step on the next batch of the epoch's order, after honouring stop and pause."""
        c, s = self.controls, self.state
        if self.max_time_s is not None and not self.out_of_time and self.recorder.time.train >= self.max_time_s:
            self.out_of_time = True  # stopped as a user's stop is, with a checkpoint; `resume --max-time` goes on
            c.request_stop()
        c.sync()
        if c.stop.is_set() or c.paused.is_set():
            self.read_losses()  # a stop or pause leaves no loss unread (nor a non-finite one unreported)
        if c.stop.is_set():
            raise SamplingStopped()
        self.wait_while_paused()
        if c.stop.is_set():
            raise SamplingStopped()
        bs, session = self.config.batch_size, self.session
        idx = s.perm[s.batch * bs : (s.batch + 1) * bs]
        x, y = session.train_x[idx], session.train_y[idx] if session.train_y is not None else None
        with session.precision_context():
            loss, recorded = self.parallel.loss(session.process, x, s.gen, y)  # with several workers: their rows
        s.opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm, lr = total_grad_norm(s.net), current_lr(s.opt)  # after the workers' all-reduce, on the device
        s.opt.step()
        if s.ema is not None:
            s.ema.update(s.net)
        before = Position(epoch, s.step, s.images, s.batch)
        s.batch, s.step, s.images = s.batch + 1, s.step + 1, s.images + len(x)
        self.timer.images += len(x)
        self.losses.add(recorded, before, len(x), round(s.clock.elapsed(), 3), grad_norm, lr)
        end_of_epoch = s.batch >= session.steps_per_epoch
        if self.losses.due() or end_of_epoch or c.sample_now.is_set() or c.checkpoint_now.is_set():
            self.read_losses()
        if c.sample_now.is_set():
            c.sample_now.clear()
            self.preview(epoch, mid_epoch=True)
        if c.checkpoint_now.is_set():
            c.checkpoint_now.clear()
            self.checkpoint()
        self.recorder.heartbeat()

    def read_losses(self) -> None:
        self.losses.read(self.state, self.recorder)
        self.recorder.sample_system()  # after the step lines, so metrics.jsonl stays in step order

    def wait_while_paused(self) -> None:
        c = self.controls
        if not c.paused.is_set():
            return
        self.recorder.flush()
        self.recorder.set_status(paused=True)
        started = time.monotonic()
        while c.paused.is_set() and not c.should_stop():
            time.sleep(0.05)
            c.sync(force=True)
        paused_s = time.monotonic() - started  # paused time is neither training time nor an epoch's
        self.state.clock.exclude(paused_s)
        self.timer.exclude(paused_s)
        self.recorder.set_status(paused=False)

    def preview(self, epoch: int, mid_epoch: bool = False) -> None:
        self.read_losses()  # a stop inside sampling finds no loss unread
        if not self.session.world.main:
            return  # grids are rank 0's: the run folder is its alone
        seconds = self.previews.draw(self.state, epoch, self.state.step if mid_epoch else None)
        if mid_epoch:
            self.timer.exclude(seconds)  # an epoch's images/s counts training time only

    def end_epoch(self, epoch: int) -> None:
        """An epoch's snapshot, grid and evaluation, then its checkpoint. A stop in here checkpoints with
        `epoch_end_due` set, so a resume draws the grid and evaluation the stop cut short before going on."""
        cfg, s = self.config, self.state
        s.epoch_end_due = epoch
        if cfg.keep_snapshots:
            self.recorder.snapshot(epoch)
        if self.previews.clock.due_at_epoch_end(epoch, s.step, s.clock.elapsed()) or epoch == cfg.epochs:
            self.preview(epoch)
        if self.session.quality is not None and self.session.quality.due(epoch) and self.session.world.main:
            self.previews.evaluate(s)
            self.evaluated_step = s.step
        s.epoch_end_due = None
        if epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs:
            self.checkpoint()

    def closing_evaluation(self) -> None:
        """A run stopped by --max-time is scored where it stopped (with --eval-every), so its quality curve ends at
        the budget and runs compare at equal training time. A user's stop during it skips it."""
        if self.session.quality is None or not self.session.world.main or self.evaluated_step == self.state.step:
            return
        self.controls.stop.clear()  # the stop was the budget's own request, not the user's
        with contextlib.suppress(SamplingStopped):
            self.previews.evaluate(self.state)

    def checkpoint(self) -> None:
        self.read_losses()  # the epoch's loss sum is complete in what is saved
        s = self.state
        if s.perm is not None and s.batch < self.session.steps_per_epoch:  # mid-epoch: its time so far
            s.epoch_train_s, s.epoch_images = self.timer.seconds(), self.timer.images
        self.recorder.checkpoint()
