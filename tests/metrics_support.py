"""How cheaply the session's small classifier is trained (the `small_classifier` fixture in conftest.py): a few
hundred steps on the bundled MNIST subset, enough for FID and histograms to tell digits from noise."""

from __future__ import annotations

CLASSIFIER_STEPS = 200
CLASSIFIER_BATCH = 64
