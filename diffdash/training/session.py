"""What one training process works with: the device and precision, the data on it, the diffusion process,
the in-training evaluation. Built once before the loop; unlike the `TrainingState` none of it is saved
(it is rebuilt from the config on resume), which is why it is kept apart.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from diffdash import __version__
from diffdash.diffusion import build_process
from diffdash.diffusion.base import SamplingStopped
from diffdash.distributed.parallel import validation_part
from diffdash.distributed.reduce import sum_over_workers
from diffdash.distributed.world import World
from diffdash.machine.devices import apply_threads, autocast, resolve_device, resolve_precision
from diffdash.mnist.load import MnistData, load_mnist, run_labels, run_tensors
from diffdash.models.cnn import count_parameters
from diffdash.options.run_config import RunConfig

if TYPE_CHECKING:
    from diffdash.diffusion.base import Process
    from diffdash.metrics.in_training import TrainingEval
    from diffdash.training.state import TrainingState

VAL_SEED_OFFSET = 7919  # the validation noise's seed, offset from the run's so it never repeats the training draws


@dataclass
class Session:
    config: RunConfig
    device: str
    precision: str
    precision_reason: str
    threads: int
    data: MnistData
    train_x: torch.Tensor
    val_x: torch.Tensor
    process: Process
    quality: TrainingEval | None  # --eval-every
    steps_per_epoch: int
    world: World = field(default_factory=World)  # this process among data-parallel workers (diffdash.worker)
    train_y: torch.Tensor | None = None  # the digits' labels, for a class-conditional run (--cond class)
    val_y: torch.Tensor | None = None

    def precision_context(self) -> AbstractContextManager:
        """What every forward pass of the run (training step, compile warm-up, validation, previews) is taken
        in: bf16 autocast on this device, or nothing for fp32. Built here only; a fresh one per `with`."""
        return autocast(self.device, self.precision)


def open_session(
    config: RunConfig,
    data: MnistData | None,
    say: Callable[[str], None],
    progress: Callable[[str], None],
) -> Session:
    """Resolve the device, load MNIST unless handed in, cut it to the limits and move it to the device."""
    cfg = config
    device = resolve_device(cfg.device)
    precision, reason = resolve_precision(device, cfg.precision)
    threads = apply_threads(cfg.threads)
    if data is None:
        progress("loading data")
        data = load_mnist(cfg.dataset, cfg.data_dir, say=say)
    train_x, val_x = run_tensors(data, cfg.train_limit, cfg.val_limit, device)
    process = build_process(cfg, device)
    process.attach_data(train_x, val_x)
    quality = None
    if cfg.eval_every is not None:
        from diffdash.metrics.in_training import TrainingEval

        quality = TrainingEval(cfg, data, len(train_x), say)
    steps = math.ceil(len(train_x) / cfg.batch_size)
    labels = {}
    if cfg.cond == "class":
        train_y, val_y = run_labels(data, cfg.train_limit, cfg.val_limit, device)
        labels = {"train_y": train_y, "val_y": val_y}
    return Session(cfg, device, precision, reason, threads, data, train_x, val_x, process, quality, steps, **labels)


def describe(session: Session, state: TrainingState) -> dict[str, Any]:
    """What config.json records beyond the options: parameter count, data, device, versions."""
    return {
        **session.config.to_dict(),
        "parameters": count_parameters(state.net),
        "data": session.data.info,
        "resolved_device": session.device,
        "resolved_precision": session.precision,
        "precision_reason": session.precision_reason,
        "resolved_threads": session.threads,
        "steps_per_epoch": session.steps_per_epoch,
        "n_train": len(session.train_x),
        "n_val": len(session.val_x),
        "versions": {"diffdash": __version__, "torch": torch.__version__, "python": platform.python_version()},
    }


def opening(session: Session, state: TrainingState, resume: bool) -> dict[str, Any]:
    """The fields of the `start` (or `resumed`) event: what is trained, on what, and any warning about it."""
    notice = None if resume else level_notice(session.config)
    return {
        "epochs": session.config.epochs,
        "steps_per_epoch": session.steps_per_epoch,
        "n_train": len(session.train_x),
        "n_val": len(session.val_x),
        "parameters": count_parameters(state.net),
        "device": session.device,
        **({"data_notice": data_notice(session.data.info)} if session.data.info.get("fallback_from") else {}),
        **({"level_notice": notice} if notice else {}),
    }


@torch.inference_mode()
def validation_loss(
    session: Session, net: torch.nn.Module, progress: Callable[..., None], should_stop: Callable[[], bool]
) -> float:
    """Validation loss on the test split: the training loss, with fixed draws so epochs compare.

    Batches stay at the training batch size: the noise is drawn batch by batch, so larger ones
    would change the draws, and on the CPU they measured no faster. The sum stays on the device
    (in float64, as the Python float it replaces) and is read once. With several workers each takes its
    rows of every batch and the sums are added up over the workers: the mean over the whole test split.
    """
    cfg, val_x, bs = session.config, session.val_x, session.config.batch_size
    net.eval()
    gen = torch.Generator(device=session.device).manual_seed(cfg.seed + VAL_SEED_OFFSET)
    total, count = torch.zeros((), dtype=torch.float64, device=session.device), 0
    for i in range(0, len(val_x), bs):
        progress("validating", i, len(val_x))
        if should_stop():
            raise SamplingStopped()
        x = val_x[i : i + bs]
        y = session.val_y[i : i + bs] if session.val_y is not None else None
        with session.precision_context():
            total += validation_part(session.world, session.process, net, x, gen, y)
        count += len(x)
    net.train()
    return float(sum_over_workers(total, session.world)) / count


def level_notice(config: RunConfig) -> str | None:
    """Cold runs whose degradation wastes most of its levels: one line for the dashboard."""
    if config.model != "cold":
        return None
    from diffdash.degradations.levels import saturation_notice

    return saturation_notice(config, short=True)


def data_notice(info: dict[str, Any]) -> str:
    return f"offline fallback: full MNIST not in {info['fallback_from']}, training on the bundled subset"
