"""Build the MNIST subset shipped in diffdash/assets/mnist_small from the official idx files.

Reproducible: the same official files give byte-identical output.
    python scripts/build_bundled_mnist.py ../shared/mnist
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from diffdash.mnist.idx import read_idx, write_idx_gz

TRAIN_PER_CLASS = 1000
TEST_PER_CLASS = 100
SEED = 20240301
OUT = Path(__file__).resolve().parent.parent / "diffdash" / "assets" / "mnist_small"


def pick(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    chosen = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)]
    return np.sort(np.concatenate(chosen))


def main(src: str) -> None:
    src_dir = Path(src)
    rng = np.random.default_rng(SEED)
    OUT.mkdir(parents=True, exist_ok=True)
    for split, per_class, prefix in (("train", TRAIN_PER_CLASS, "train"), ("test", TEST_PER_CLASS, "t10k")):
        images = read_idx(src_dir / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(src_dir / f"{prefix}-labels-idx1-ubyte.gz")
        idx = pick(labels, per_class, rng)
        write_idx_gz(OUT / f"{prefix}-images-idx3-ubyte.gz", images[idx])
        write_idx_gz(OUT / f"{prefix}-labels-idx1-ubyte.gz", labels[idx])
        print(f"{split}: {len(idx)} digits ({per_class} per class)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/mnist")
