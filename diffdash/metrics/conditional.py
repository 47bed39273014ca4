"""Scores of a class-conditional run: did it draw the digit it was asked for, and how well, per digit.

Accuracy is the share of samples the MNIST classifier names as the requested digit. Per-digit FID compares
the samples asked to be digit d with the real test digits d, in the same classifier feature space as the
overall FID; with ~100 samples per digit it is a noisier, biased-upward estimate, fit to compare digits,
guidance scales and runs at the same n, not to compare with the overall figure.
"""

from __future__ import annotations

from typing import Any

import torch

from diffdash.metrics.classifier import Classifier
from diffdash.metrics.fid import feature_stats, fid_from_features


def class_statistics(classifier: Classifier, test_images: Any, test_labels: Any) -> dict[int, tuple]:
    """{digit: (mu, sigma)} of the classifier's features of the real test digits of each class."""
    from diffdash.mnist.load import to_tensor

    feats = classifier.features(to_tensor(test_images))
    labels = torch.as_tensor(test_labels.astype("int64"))
    return {d: feature_stats(feats[labels == d]) for d in range(10) if int((labels == d).sum()) >= 2}


def conditional_fields(
    classifier: Classifier, samples: torch.Tensor, labels: torch.Tensor, real: dict[int, tuple]
) -> dict[str, Any]:
    """{"accuracy", "per_digit": [{"digit", "n", "accuracy", "fid", "confidence"}, ...]} of samples drawn for
    `labels`; `real` from `class_statistics`. A digit with fewer than 2 samples has no FID (None)."""
    labels = labels.cpu()
    feats = classifier.features(samples)
    probs = classifier.probabilities(samples)
    right = probs.argmax(1) == labels
    rows = []
    for d in range(10):
        mask = labels == d
        k = int(mask.sum())
        if k == 0:
            continue
        fid = fid_from_features(feats[mask], *real[d]) if k >= 2 and d in real else None
        rows.append(
            {
                "digit": d,
                "n": k,
                "accuracy": round(float(right[mask].float().mean()), 4),
                "fid": round(fid, 4) if fid is not None else None,
                "confidence": round(float(probs[mask].max(1).values.mean()), 4),
            }
        )
    return {"accuracy": round(float(right.float().mean()), 4), "per_digit": rows}
