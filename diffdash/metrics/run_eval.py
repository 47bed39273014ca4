"""Evaluate a run's checkpoint: load its raw or EMA weights, draw n samples, score them, build the event.

Used by `diffdash eval`; no printing here. When the process restores digits (cold diffusion), its
`reconstruction_sets` gives Bansal et al.'s rows and RMSE and SSIM against the originals are added to
the event as "recon".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from diffdash.checkpoint import load_checkpoint
from diffdash.diffusion import build_process
from diffdash.metrics.evaluate import Timer, eval_event, generate, real_reference_fid, score
from diffdash.metrics.recon import reconstruction_table
from diffdash.mnist.load import load_mnist, run_tensors, to_tensor
from diffdash.options.run_config import RunConfig
from diffdash.runs.trained_network import trained_network
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
    weights = (ck["ema"] or {}).get("weights") if use_ema else ck["model"]
    net = trained_network(config, weights, path, device)  # CheckpointError when the weights do not fit the network
    return net, "ema" if use_ema else "raw", ck


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
    guidances: list[float] | None = None,
) -> tuple[list[dict[str, Any]], float, dict | None]:
    """-> (eval events, FID of n real training digits for scale, reconstruction table or None).

    One event, or for a class-conditional run one per guidance scale in `guidances` (default: the run's),
    each with the samples asked for every digit equally often and scored for accuracy and per digit too."""
    from diffdash.metrics.classifier import get_classifier
    from diffdash.metrics.in_training import sampling_passes

    net, weights, ck = load_weights(config, path, ema, device)
    data_dir = data_dir or config.data_dir
    data = load_mnist(config.dataset, data_dir, download=False, say=say)
    clf = prepare(data, data_dir) if prepare is not None else get_classifier(data, data_dir, say=say)
    process = build_process(config, device)
    if process.needs_data:
        process.attach_data(*run_tensors(data, config.train_limit, config.val_limit, device))
    if config.cond == "none":
        scored = [_scored(process, net, clf, n, sampler, steps, seed, None, None)]
    else:
        from diffdash.diffusion.guided import balanced_labels
        from diffdash.metrics.conditional import class_statistics

        real = class_statistics(clf, data.test_images, data.test_labels)
        labels = balanced_labels(n)
        scored = [
            _scored(process, net, clf, n, sampler, steps, seed, (labels, w), real)
            for w in (guidances if guidances else [config.guidance])
        ]
    originals = to_tensor(data.test_images[: min(n, RECON_N)], device)
    sets = process.reconstruction_sets(net, originals, sampler=sampler, steps=steps, seed=seed)
    table = None
    if sets is not None:
        table = reconstruction_table(originals.cpu(), {k: v.detach().float().cpu() for k, v in sets.items()})
    reference = real_reference_fid(clf, data.train_images, n)
    events = []
    for quality, seconds, extra in scored:
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
                seconds=seconds,
                seed=seed,
                fid_real=round(reference, 4),
                dataset=data.info.get("name"),
                checkpoint=path.name,
                **extra,
            )
        )
        if table is not None:
            event["recon"] = table
        events.append(event)
    return events, reference, table


def _scored(process, net, clf, n, sampler, steps, seed, cond, real):
    """(Quality, seconds, extra event fields) of n fresh samples; `cond` (labels, guidance) for a conditional run."""
    from diffdash.metrics.conditional import conditional_fields

    options = {"labels": cond[0], "guidance": cond[1]} if cond is not None else {}
    with Timer() as t:
        x = generate(process, net, n, sampler=sampler, steps=steps, seed=seed, **options)
        quality = score(clf, x)
        extra = {"guidance": cond[1], **conditional_fields(clf, x, cond[0], real)} if cond is not None else {}
    return quality, t.seconds, extra
