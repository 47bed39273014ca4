"""Draw samples from a run's checkpoint (used by `diffdash sample` and by evaluation)."""

from __future__ import annotations

from pathlib import Path

import torch

from diffdash.checkpoint import load_checkpoint
from diffdash.config import RunConfig
from diffdash.diffusion import build_process
from diffdash.models import build_network
from diffdash.store import RunDir


def load_trained(run: RunDir, device: str = "cpu", checkpoint: str | Path | None = None):
    """The run's network with its checkpoint's weights, its process and its config."""
    config = RunConfig.from_dict(run.read_config())
    ck = load_checkpoint(checkpoint or run.last_checkpoint, device)
    net = build_network(config).to(device)
    net.load_state_dict(ck["model"])
    net.eval()
    return net, build_process(config, device), config


def sample_run(
    run: RunDir,
    n: int,
    sampler: str,
    steps: int | None,
    seed: int,
    device: str = "cpu",
    checkpoint: str | Path | None = None,
) -> torch.Tensor:
    net, process, _ = load_trained(run, device, checkpoint)
    if sampler not in process.samplers:
        raise ValueError(f"unknown sampler {sampler!r}: choose one of {', '.join(process.samplers)}")
    return process.sample(net, n, sampler=sampler, steps=steps, seed=seed)
