"""Sample grids as PNGs: the data range [-0.5, 0.5] maps to black..white (nothing clamped away)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from diffdash.fsutil import atomic_write
from diffdash.mnist.load import DATA_HIGH, DATA_LOW


def to_uint8(images: np.ndarray, low: float = DATA_LOW, high: float = DATA_HIGH) -> np.ndarray:
    scaled = (np.asarray(images, dtype=np.float32) - low) / (high - low)
    return (np.clip(scaled, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def grid_array(images: np.ndarray, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """(N, 1, H, W) or (N, H, W) floats in the data range -> one uint8 (rows*H, cols*W) mosaic."""
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[:, 0]
    n, h, w = images.shape
    cols = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad), dtype=np.uint8)
    pixels = to_uint8(images)
    for i in range(n):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = pixels[i]
    return out


def save_grid(images, path: str | Path, nrow: int | None = None, scale: int = 1) -> Path:
    """Write a grid PNG atomically (a watcher never reads half a file). Accepts tensors or arrays."""
    from PIL import Image

    if hasattr(images, "detach"):
        images = images.detach().float().cpu().numpy()
    img = Image.fromarray(grid_array(images, nrow))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    path = Path(path)
    atomic_write(path, lambda f: img.save(f, format="PNG"))
    return path
