"""Evaluate a run's checkpoint: load its raw or EMA weights, draw n samples, score them, build the event.

Used by `diffdash eval`; no printing here. A process may offer reconstructions (cold diffusion) through
an optional hook, `reconstruction_sets(net, x0, *, seed) -> {"degraded": ..., "direct": ..., "sampled": ...}`;
when it does, RMSE and SSIM against the originals are added to the event as "recon".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from diffdash.checkpoint import load_checkpoint, load_weights_into
from diffdash.config import RunConfig
from diffdash.data import load_mnist, to_tensor
from diffdash.diffusion import build_process
from diffdash.engine import build_network
from diffdash.metrics.evaluate import Timer, eval_event, generate, real_reference_fid, score
from diffdash.metrics.recon import reconstruction_table
from diffdash.store import RunDir

RECON_N = 500


class EvalError(ValueError):
    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


def load_weights(config: RunConfig, path: Path, ema: bool | None, device: str) -> tuple[torch.nn.Module, str, dict]:
    """The network with the checkpoint's raw or EMA weights; ema=None picks EMA when the checkpoint has one."""
    try:
        ck = load_checkpoint(path, device)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is bad input
        raise EvalError("checkpoint", f"cannot read checkpoint {path}: {exc}") from None
    has_ema = ck.get("ema") is not None
    if ema and not has_ema:
        raise EvalError("ema", f"{path.name} has no EMA weights (train with --ema DECAY): use --no-ema")
    use_ema = has_ema if ema is None else ema
    net = build_network(config).to(device)
    weights = (ck["ema"] or {}).get("weights") if use_ema else ck["model"]
    load_weights_into(net, weights, path)  # CheckpointError when the weights do not fit the network
    net.eval()
    return net, "ema" if use_ema else "raw", ck


@torch.no_grad()
def reconstruction_sets(
    process: Any, net: torch.nn.Module, x0: torch.Tensor, *, sampler: str, steps: int | None, seed: int
) -> dict[str, torch.Tensor] | None:
    """Bansal et al.'s rows for a process that degrades and restores (cold diffusion), else None.

    Uses the process's `reconstruction_sets(net, x0, seed=...)` hook when it has one; otherwise its
    `degradation` and `restore(net, x, s, sampler=, steps=, params=)`: x0 degraded fully to x_T, restored
    in one step ("direct") and by the run's sampler ("sampled").
    """
    if hasattr(process, "reconstruction_sets"):
        return process.reconstruction_sets(net, x0, seed=seed)
    degradation, restore = getattr(process, "degradation", None), getattr(process, "restore", None)
    if degradation is None or restore is None or not hasattr(degradation, "draw_params"):
        return None
    g = torch.Generator(device=x0.device).manual_seed(seed + 1)
    params = degradation.draw_params(len(x0), g)
    degraded = degradation(x0, process.n_T, params)
    direct = restore(net, degraded, process.n_T, sampler="direct", params=params, seed=seed)
    sampled = restore(net, degraded, process.n_T, sampler=sampler, steps=steps, params=params, seed=seed)
    return {"degraded": degraded, "direct": direct, "sampled": sampled}


def evaluate_run(
    run: RunDir,
    config: RunConfig,
    path: Path,
    *,
    n: int,
    sampler: str,
    steps: int | None,
    ema: bool | None,
    seed: int,
    device: str,
    data_dir: str | None = None,
    prepare: Callable[..., Any] | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> tuple[dict[str, Any], float, dict | None]:
    """-> (eval event, FID of n real training digits for scale, reconstruction table or None)."""
    from diffdash.metrics.classifier import get_classifier
    from diffdash.metrics.in_training import sampling_passes

    net, weights, ck = load_weights(config, path, ema, device)
    data_dir = data_dir or config.data_dir
    data = load_mnist(config.dataset, data_dir, download=False, say=say)
    clf = prepare(data, data_dir) if prepare is not None else get_classifier(data, data_dir, say=say)
    process = build_process(config, device)  # a process needing data (cold) reads the run's own
    with Timer() as t:
        x = generate(process, net, n, sampler=sampler, steps=steps, seed=seed)
        quality = score(clf, x)
    originals = to_tensor(data.test_images[: min(n, RECON_N)], device)
    sets = reconstruction_sets(process, net, originals, sampler=sampler, steps=steps, seed=seed)
    table = None
    if sets is not None:
        table = reconstruction_table(originals.cpu(), {k: v.detach().float().cpu() for k, v in sets.items()})
    reference = real_reference_fid(clf, data.train_images, n)
    event = {
        "event": "eval",
        "epoch": ck.get("epoch", 0),
        "step": ck.get("step", 0),
        "images": ck.get("images", 0),
        "time": round(float(ck.get("time", 0.0)), 3),
    }
    event.update(
        eval_event(
            quality,
            sampler=sampler,
            steps=sampling_passes(config, sampler, steps),
            weights=weights,
            seconds=t.seconds,
            seed=seed,
            fid_real=round(reference, 4),
            dataset=data.info.get("name"),
            checkpoint=path.name,
        )
    )
    if table is not None:
        event["recon"] = table
    return event, reference, table
