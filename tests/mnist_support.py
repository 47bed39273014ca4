"""The full MNIST idx files of the project's machines (../shared/mnist), and the mark that skips a test, saying
why, where they are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_MNIST = Path(__file__).resolve().parent.parent.parent / "shared" / "mnist"
needs_full_mnist = pytest.mark.skipif(
    not (SHARED_MNIST / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"full MNIST idx files not found in {SHARED_MNIST} (only on the project's own machines)",
)
