"""A trained network from a run's checkpoint: the one loader `sample`, `eval`, `resume`'s check and the
benchmarks use (built from the run's config, the weights checked to fit, in eval mode)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from diffdash.checkpoint import load_checkpoint, load_weights_into
from diffdash.diffusion import build_process
from diffdash.models import build_network
from diffdash.options.run_config import RunConfig
from diffdash.store import RunDir

if TYPE_CHECKING:
    from torch import nn


def trained_network(config: RunConfig, weights: Any, path: str | Path, device: str = "cpu") -> nn.Module:
    """The run's network with `weights` (a checkpoint's "model" or EMA weights, read from `path`), in eval mode;
    `CheckpointError` naming `path` when they do not fit the network the config describes."""
    net = build_network(config).to(device)
    load_weights_into(net, weights, path)
    return net.eval()


def load_trained(run: RunDir, device: str = "cpu", checkpoint: str | Path | None = None):
    """The run's network with its checkpoint's weights, its process and its config."""
    config = RunConfig.from_dict(run.read_config())
    path = checkpoint or run.last_checkpoint
    net = trained_network(config, load_checkpoint(path, device)["model"], path, device)
    return net, build_process(config, device), config
