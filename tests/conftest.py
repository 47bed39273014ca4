"""Shared fixtures: the bundled real-MNIST subset and tiny configs that train in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "mnist"
needs_full_mnist = pytest.mark.skipif(
    not (SHARED_MNIST / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"full MNIST idx files not found in {SHARED_MNIST} (only on the project's own machines)",
)


@pytest.fixture(scope="session")
def small_data():
    from diffdash.data import load_bundled

    return load_bundled()


def tiny_config(**overrides):
    from diffdash.config import RunConfig

    base = dict(
        n_hidden=[4, 8, 4],
        epochs=2,
        batch_size=64,
        n_T=100,
        dataset="mnist-small",
        train_limit=256,
        val_limit=128,
        device="cpu",
        sample_steps=5,
    )
    base.update(overrides)
    return RunConfig(**base).validate()


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    path = tmp_path / "runs"
    monkeypatch.setenv("DIFFDASH_RUNS", str(path))
    return path
