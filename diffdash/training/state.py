"""Everything a run needs to continue exactly: weights, optimiser, EMA, RNG, counters, the place in the epoch.

One object with `state_dict()` / `load_state_dict()`, as nanoGPT's checkpoint dict: checkpoints/last.pt is
`state_dict()` and nothing else builds one. `load_state_dict` reads files written by earlier versions too
(the keys added since are optional), so old runs resume. A `--keep-snapshots` file is the same dict cut
down to the weights (`weights_dict()`), which is all `diffdash eval --epoch N` reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch

from diffdash.models import build_network, use_fast_layout
from diffdash.options.run_config import RunConfig
from diffdash.training.ema import EMA


@dataclass
class EpochTimer:
    """The epoch in progress: its training seconds (previews and pauses left out) and images."""

    started: float = field(default_factory=time.monotonic)
    images: int = 0

    def seconds(self) -> float:
        return time.monotonic() - self.started

    def exclude(self, seconds: float) -> None:
        self.started += seconds

    @classmethod
    def carried(cls, seconds: float, images: int) -> EpochTimer:
        """An epoch resumed mid-way: its training seconds and images before the stop still count."""
        return cls(started=time.monotonic() - seconds, images=images)


@dataclass
class SessionClock:
    """Training seconds: those of earlier sessions (from the checkpoint) plus this one's, pauses excluded."""

    before: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return self.before + (time.monotonic() - self.started)

    def exclude(self, seconds: float) -> None:
        self.started += seconds


class Position(NamedTuple):
    """The counters before a step, so its `step` event (read later, from the device) is stamped as it was."""

    epoch: int
    step: int
    images: int
    batch: int


class TrainingState:
    def __init__(
        self,
        config: RunConfig,
        device: str,
        net: torch.nn.Module,
        opt: torch.optim.Optimizer,
        ema: EMA | None,
        gen: torch.Generator,
    ):
        self.config = config
        self.device = device
        self.net, self.opt, self.ema, self.gen = net, opt, ema, gen
        self.epoch = 0  # epochs completed
        self.step = 0
        self.images = 0
        self.batch = 0  # the next batch of the epoch in progress
        self.perm: torch.Tensor | None = None  # that epoch's order; None between epochs
        self.loss_sum, self.loss_count = 0.0, 0  # the epoch's training loss so far
        self.epoch_train_s, self.epoch_images = 0.0, 0  # its training seconds and images before this session
        self.best_val: float | None = None
        self.best_epoch: int | None = None
        self.last_val: float | None = None
        self.epoch_end_due: int | None = None  # an epoch whose grid/evaluation a stop cut short
        self.clock = SessionClock()

    @classmethod
    def create(cls, config: RunConfig, device: str) -> TrainingState:
        """A fresh state: the network from the run's seed, Adam, the EMA if asked for, the shuffling RNG."""
        net = use_fast_layout(build_network(config).to(device), device)
        opt = torch.optim.Adam(net.parameters(), lr=config.lr, foreach=True)  # one kernel per op, not per tensor
        ema = EMA(net, config.ema) if config.ema is not None else None
        gen = torch.Generator(device=device).manual_seed(config.seed)
        return cls(config, device, net, opt, ema, gen)

    @property
    def current_epoch(self) -> int:
        """The epoch events are stamped with: the one in progress, else the last completed."""
        return self.epoch + 1 if self.perm is not None else self.epoch

    def rewind(self, to: Position) -> None:
        """Back to the counters before a step (its loss was not finite: that step did not count)."""
        self.step, self.images, self.batch = to.step, to.images, to.batch

    def sampling_net(self) -> torch.nn.Module:
        """The weights previews and --eval-every sample from: the EMA copy or the trained net."""
        return self.ema.module if self.ema is not None and self.config.weights_used() == "ema" else self.net

    def weights_dict(self) -> dict[str, Any]:
        """The weights and where they were taken: a `--keep-snapshots` file, and the core of `state_dict`."""
        return {
            "model": self.net.state_dict(),
            "ema": self.ema.checkpoint() if self.ema is not None else None,
            "epoch": self.epoch,
            "step": self.step,
            "images": self.images,
            "time": self.clock.elapsed(),
            "config": self.config.to_dict(),
        }

    def state_dict(self) -> dict[str, Any]:
        """The checkpoint: what `load_state_dict` needs to continue as if never interrupted."""
        return {
            **self.weights_dict(),
            "optimizer": self.opt.state_dict(),
            "generator": self.gen.get_state(),
            "batch": self.batch,
            "perm": self.perm.cpu() if self.perm is not None else None,
            "loss_sum": self.loss_sum,
            "loss_count": self.loss_count,
            "epoch_train_s": self.epoch_train_s,
            "epoch_images": self.epoch_images,
            "best_val": self.best_val,
            "best_epoch": self.best_epoch,
            "last_val": self.last_val,
            "epoch_end_due": self.epoch_end_due,
        }

    def load_state_dict(self, ck: dict[str, Any]) -> None:
        """Continue from a checkpoint; keys older versions did not write (ema, perm, best and last val,
        epoch_end_due, the epoch's earlier seconds and images, time) default to what those versions meant."""
        self.net.load_state_dict(ck["model"])
        self.opt.load_state_dict(ck["optimizer"])
        if self.ema is not None and ck.get("ema") is not None:
            self.ema.restore(ck["ema"])
        self.gen.set_state(ck["generator"])
        self.epoch, self.step, self.images = ck["epoch"], ck["step"], ck["images"]
        self.batch = ck["batch"]
        self.perm = ck["perm"].to(self.device) if ck.get("perm") is not None else None
        self.loss_sum, self.loss_count = ck["loss_sum"], ck["loss_count"]
        self.epoch_train_s, self.epoch_images = ck.get("epoch_train_s", 0.0), ck.get("epoch_images", 0)
        self.best_val, self.best_epoch, self.last_val = ck.get("best_val"), ck.get("best_epoch"), ck.get("last_val")
        self.epoch_end_due = ck.get("epoch_end_due")
        self.clock.before = ck.get("time", 0.0)
