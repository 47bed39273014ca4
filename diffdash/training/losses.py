"""Training losses kept on the device and read a few at a time: one host sync per read, not per step.

Each loss still becomes its own `step` event, stamped with that step's counters and time, so metrics.jsonl
is the same whether losses are read one by one (the CPU, where a read stalls nothing) or in batches. The
step's learning rate and gradient norm (step_figures.py) ride along, read in the same sync.
"""

from __future__ import annotations

import math
import time

import torch

from diffdash.training.recorder import Recorder
from diffdash.training.state import Position, TrainingState

LOSS_READ_EVERY = 16  # on a GPU training losses stay on the device and are read this many steps at a time,
LOSS_READ_S = 1.0  # or after this many seconds, whichever comes first


class NonFiniteLoss(RuntimeError):
    """A training loss became inf or nan: the run fails at that step, with no checkpoint after it."""


class StepLosses:
    def __init__(self, read_every: int):
        self.read_every = read_every
        self.pending: list[tuple[torch.Tensor, Position, int, float]] = []  # (loss, counters before, images, time)
        self.figures: list[tuple[torch.Tensor | None, float | None]] = []  # (gradient norm, lr) of each pending step
        self.last_read = time.monotonic()

    def add(
        self,
        loss: torch.Tensor,
        before: Position,
        images: int,
        at: float,
        grad_norm: torch.Tensor | None = None,
        lr: float | None = None,
    ) -> None:
        self.pending.append((loss.detach(), before, images, at))
        self.figures.append((None if grad_norm is None else grad_norm.detach(), lr))

    def due(self) -> bool:
        return len(self.pending) >= self.read_every or time.monotonic() - self.last_read >= LOSS_READ_S

    def read(self, state: TrainingState, recorder: Recorder) -> None:
        """Add the unread losses to the epoch's mean and emit one `step` event each. A non-finite loss fails
        the run at its exact step, with the counters put back to the step before it."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        figures, self.figures = self.figures, []
        self.last_read = time.monotonic()
        values, norms = _read_together([loss for loss, *_ in pending], [g for g, _ in figures])
        for value, (_, before, n, at), norm, (_, lr) in zip(values, pending, norms, figures, strict=True):
            if not math.isfinite(value):
                state.rewind(before)
                raise NonFiniteLoss(f"loss became {value} at step {before.step + 1} (epoch {before.epoch})")
            state.loss_sum += value * n
            state.loss_count += n
            recorder.emit(
                {
                    "event": "step",
                    "epoch": before.epoch,
                    "step": before.step + 1,
                    "images": before.images + n,
                    "time": at,
                    "loss": value,
                    **({"lr": lr} if lr is not None else {}),
                    **({"grad_norm": norm} if norm is not None and math.isfinite(norm) else {}),
                }
            )


def _read_together(losses: list[torch.Tensor], norms: list[torch.Tensor | None]) -> tuple[list, list]:
    """The losses and the gradient norms (None where a step has none) in one device-to-host copy."""
    stacked = torch.stack(losses)
    present = [g for g in norms if g is not None]
    if present:  # at least float32, and never below the losses' own precision: each loss reads as before
        dtype = torch.promote_types(stacked.dtype, torch.float32)
        stacked = torch.cat([stacked.to(dtype), torch.stack(present).to(dtype)])
    read = stacked.tolist()
    it = iter(read[len(losses) :])
    return read[: len(losses)], [None if g is None else next(it) for g in norms]
