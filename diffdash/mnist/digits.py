"""What a digit is to every part of diffdash, with nothing heavy imported, so the lowest modules (degradations,
metrics, diffusion) share it without reaching up to data loading: 28x28 pixels in [-0.5, 0.5] (the starter
notebook's ToTensor then Normalize((0.5,), (1.0,))), `to_tensor` into that range, and the bundled real subset."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA_LOW, DATA_HIGH = -0.5, 0.5
BUNDLED_DIR = Path(__file__).resolve().parent.parent / "assets" / "mnist_small"


def to_tensor(images: np.ndarray, device: str = "cpu"):
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [-0.5, 0.5], as the starter's transforms give."""
    import torch

    return (
        torch.from_numpy(np.array(images, dtype=np.uint8, copy=True)).to(device).float().div_(255.0).sub_(0.5)
    ).unsqueeze(1)
