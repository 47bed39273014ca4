"""Score a set of samples (FID in the classifier's feature space, digit histogram, confidence) and
draw the samples to score from a network: shared by `diffdash eval` and by `--eval-every` in training.

The eval event written to metrics.jsonl is `diffdash.store.events.EvalEvent` (its fields and their types).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from diffdash.metrics.classifier import Classifier
from diffdash.metrics.fid import FID_KIND, fid_from_features
from diffdash.metrics.histogram import class_histogram, mean_confidence

SAMPLE_BATCH = 250
EVAL_COST_SHARE = 0.1  # --eval-every's default sample count keeps evaluation near 10 % of training
TRAIN_COST_PER_IMAGE = 3.0  # a training step costs ~3 network passes per image (forward + backward)
AUTO_N_MIN, AUTO_N_MAX = 100, 1000


@dataclass
class Quality:
    fid: float
    histogram: list[int]
    confidence: float
    n: int

    def fields(self) -> dict[str, Any]:
        return {
            "fid": round(self.fid, 4),
            "fid_kind": FID_KIND,
            "histogram": self.histogram,
            "confidence": round(self.confidence, 4),
            "n": self.n,
        }


def score(classifier: Classifier, samples: torch.Tensor) -> Quality:
    """Judge (N, 1, 28, 28) images in the data range against the classifier's real test statistics."""
    if len(samples) < 2:
        raise ValueError(f"need at least 2 samples to compute FID, got {len(samples)}")
    feats = classifier.features(samples)
    probs = classifier.probabilities(samples)
    return Quality(
        fid=fid_from_features(feats, classifier.real_mu, classifier.real_sigma),
        histogram=class_histogram(probs),
        confidence=mean_confidence(probs),
        n=len(samples),
    )


def generate(
    process: Any,
    net: nn.Module,
    n: int,
    *,
    sampler: str,
    steps: int | None,
    seed: int,
    batch: int = SAMPLE_BATCH,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
    labels: torch.Tensor | None = None,
    **sample_options: Any,
) -> torch.Tensor:
    """n samples in batches; batch i starts from seed + 1_000_003 * i, so the set only depends on (n, seed):
    the one batched seeded generation (`eval`, `--eval-every`, `sample`). `sample_options` go to the process's
    `sample` (cold diffusion's `start`, a conditional run's `guidance`); `labels` (n,): the digit of each
    sample, for a class-conditional run."""
    out = []
    was_training = net.training
    net.eval()
    try:
        for i, start in enumerate(range(0, n, batch)):
            k = min(batch, n - start)
            if labels is not None:
                sample_options["labels"] = labels[start : start + k]
            x = process.sample(
                net, k, sampler=sampler, steps=steps, seed=seed + 1_000_003 * i, should_stop=should_stop,
                **sample_options,
            )  # fmt: skip
            out.append(x.detach().float().cpu())
            if progress is not None:
                progress(start + k, n)
    finally:
        net.train(was_training)
    return torch.cat(out)


def auto_eval_n(n_train: int, eval_every: int, sampling_passes: int) -> int:
    """A sample count whose sampling costs ~10 % of the training between two evaluations.

    Training sees n_train images per epoch at ~3 network passes each; a sample costs one pass per
    sampling step. Deterministic (no timing), so the same config gives the same metrics.
    """
    budget = EVAL_COST_SHARE * TRAIN_COST_PER_IMAGE * eval_every * n_train / max(sampling_passes, 1)
    return int(min(AUTO_N_MAX, max(AUTO_N_MIN, round(budget / 10) * 10)))


def real_reference_fid(classifier: Classifier, train_images: Any, n: int) -> float:
    """FID of n real training digits against the test split: the floor a perfect model would score at this n."""
    from diffdash.mnist.load import to_tensor

    x = to_tensor(train_images[:n])
    return fid_from_features(classifier.features(x), classifier.real_mu, classifier.real_sigma)


def eval_event(quality: Quality, *, sampler: str, steps: int, weights: str, seconds: float, **extra: Any) -> dict:
    return {
        "event": "eval",
        **quality.fields(),
        "sampler": sampler,
        "steps": steps,
        "weights": weights,
        "seconds": round(seconds, 2),
        **extra,
    }


class Timer:
    def __enter__(self) -> Timer:
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self.t0
