"""Mode coverage: which digits the classifier sees in a set of samples, and how sure it is.

A model that collapses onto a few digits shows it here even when each digit looks fine; low mean
confidence flags samples that look like no digit at all.
"""

from __future__ import annotations

import math

import torch


def class_histogram(probabilities: torch.Tensor) -> list[int]:
    """(N, 10) class probabilities -> counts of the predicted class, 10 ints summing to N."""
    pred = probabilities.argmax(1)
    return [int(c) for c in torch.bincount(pred, minlength=10)[:10]]


def mean_confidence(probabilities: torch.Tensor) -> float:
    """Mean probability of the predicted class (1.0 = every sample is an unambiguous digit)."""
    return float(probabilities.max(1).values.mean()) if len(probabilities) else float("nan")


def histogram_entropy(histogram: list[int]) -> float:
    """Entropy of the class histogram in bits: log2(10) ~ 3.32 for all digits equally, 0 for one class."""
    total = sum(histogram)
    if total == 0:
        return 0.0
    return -sum(c / total * math.log2(c / total) for c in histogram if c)
