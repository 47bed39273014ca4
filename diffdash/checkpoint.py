"""Checkpoints: written to a temporary file and renamed into place; loaded with weights_only=True."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from diffdash.fsutil import atomic_write


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: str | Path, device: str = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location=device, weights_only=True)
