"""One cheaply trained classifier per test session (bundled MNIST subset, a few hundred steps), cached in a
tmp folder that doubles as the data cache (DIFFDASH_DATA) for runs evaluated in tests."""

from __future__ import annotations

CLASSIFIER_STEPS = 200
CLASSIFIER_BATCH = 64
_SESSION: dict = {}


def small_classifier(tmp_path_factory):
    """(Classifier, cache folder): trained on first use in this test session only."""
    if "clf" not in _SESSION:
        from diffdash.data import load_bundled
        from diffdash.metrics.classifier import get_classifier

        folder = tmp_path_factory.mktemp("classifier-cache")
        clf = get_classifier(load_bundled(), folder, max_steps=CLASSIFIER_STEPS, batch_size=CLASSIFIER_BATCH)
        _SESSION["clf"], _SESSION["dir"] = clf, folder
    return _SESSION["clf"], _SESSION["dir"]
