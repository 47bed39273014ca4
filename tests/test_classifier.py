"""The MNIST classifier: trained once per data set, cached, reloaded safely, deterministic."""

from __future__ import annotations

import pytest
import torch
from metrics_support import CLASSIFIER_BATCH, CLASSIFIER_STEPS
from mnist_support import SHARED_MNIST, needs_full_mnist

from diffdash.metrics.classifier import cache_path, get_classifier, load_classifier
from diffdash.mnist.load import to_tensor


def test_cached_classifier_reloads_with_weights_only(small_data, small_classifier):
    clf, folder = small_classifier
    path = cache_path("mnist-small", folder)
    assert path.is_file()
    again = load_classifier(path)  # torch.load(weights_only=True) inside
    x = to_tensor(small_data.test_images[:50])
    assert torch.equal(again.features(x), clf.features(x))
    assert again.info == clf.info and again.info["steps"] == CLASSIFIER_STEPS
    calls = []
    cached = get_classifier(small_data, folder, progress=lambda *a: calls.append(a))
    assert calls == [], "a cached classifier is not trained again"
    assert torch.equal(cached.real_mu, clf.real_mu)


def test_training_is_seeded_and_reports_progress(tmp_path, small_data):
    seen = []
    a = get_classifier(
        small_data, tmp_path / "a", max_steps=8, batch_size=CLASSIFIER_BATCH, progress=lambda *p: seen.append(p)
    )
    b = get_classifier(small_data, tmp_path / "b", max_steps=8, batch_size=CLASSIFIER_BATCH)
    assert [s[:2] for s in seen] == [(i, 8) for i in range(1, 9)]
    assert all(torch.equal(p, q) for p, q in zip(a.net.state_dict().values(), b.net.state_dict().values(), strict=True))


def test_a_cache_for_other_data_is_retrained(tmp_path, small_data):
    from diffdash.mnist.load import MnistData

    get_classifier(small_data, tmp_path, max_steps=2)
    fewer = MnistData(
        small_data.train_images[:500],
        small_data.train_labels[:500],
        small_data.test_images,
        small_data.test_labels,
        dict(small_data.info),
    )
    said = []
    clf = get_classifier(fewer, tmp_path, max_steps=2, say=said.append)
    assert clf.info["n_train"] == 500 and any("other data" in m for m in said)


def test_a_read_only_data_folder_is_not_written(tmp_path, monkeypatch):
    from diffdash.metrics.classifier import cache_dir_for

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o555)
    monkeypatch.setenv("DIFFDASH_DATA", str(tmp_path / "cache"))
    try:
        assert cache_dir_for(shared) == tmp_path / "cache"
        assert cache_dir_for(tmp_path) == tmp_path
    finally:
        shared.chmod(0o755)


@needs_full_mnist
def test_full_mnist_classifier_reaches_98_5_percent():
    """Checks the cached full-MNIST classifier (training it takes minutes; `diffdash eval` does it once)."""
    from diffdash.metrics.classifier import accuracy, cache_dir_for
    from diffdash.mnist.load import load_mnist

    path = cache_path("mnist", cache_dir_for(None))
    if not path.is_file():
        pytest.skip(f"no cached full-MNIST classifier at {path}: run `diffdash eval` on a full-MNIST run once")
    clf = load_classifier(path)
    data = load_mnist("mnist", SHARED_MNIST, download=False)
    assert accuracy(clf.net, data) >= 0.985
