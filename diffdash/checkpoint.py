"""Checkpoints: written to a temporary file and renamed into place; loaded with weights_only=True.

The state is serialised in memory first and then written as plain bytes, so a full disk surfaces as the
OSError it is (torch's own writer would turn it into "[enforce fail at inline_container.cc]").
Every way a checkpoint can be unreadable (missing, empty, cut short, random bytes, a pickle that is not
plain tensors) becomes one CheckpointError that names the file and what is wrong.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from diffdash.fsutil import atomic_write

RESUME_KEYS = ("model", "optimizer", "generator", "epoch", "step", "images", "batch", "loss_sum", "loss_count")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: the message says which file and why."""


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getbuffer()
    atomic_write(path, lambda f: f.write(data))


def load_checkpoint(path: str | Path, device: str = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        size = path.stat().st_size
        if size == 0:
            raise CheckpointError(f"checkpoint {path.name} is unreadable (it is empty: 0 bytes)")
        state = torch.load(path, map_location=device, weights_only=True)
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a damaged file
        raise CheckpointError(f"checkpoint {path.name} is unreadable ({_reason(exc, path)})") from None
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
        raise CheckpointError(f"checkpoint {path.name} is unreadable (it holds no model weights)")
    return state


def check_resumable(state: dict[str, Any], path: str | Path) -> None:
    """Everything `resume` reads is there, so a damaged file fails before training starts."""
    missing = [k for k in RESUME_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"checkpoint {Path(path).name} is unreadable (missing {', '.join(missing)})")


def load_weights_into(net: torch.nn.Module, weights: Any, path: str | Path) -> None:
    """load_state_dict with a one-line error when the weights do not fit the run's network."""
    try:
        net.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {Path(path).name} does not fit the run's network ({first[:200]})") from None


ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format (a zip archive)
PICKLE_MAGIC = b"\x80"  # the legacy format: a pickle, whose first opcode names its protocol


def _reason(exc: BaseException, path: Path | None = None) -> str:
    """What is wrong, in words: torch's own errors for a damaged file are often a bare number or list index."""
    head = b""
    if path is not None:
        try:
            with open(path, "rb") as f:
                head = f.read(4)
        except OSError:
            pass
    if path is not None and head and not head.startswith((ZIP_MAGIC, PICKLE_MAGIC)):
        return "it does not start like a torch checkpoint: random bytes, or another kind of file"
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if "weights_only" in str(exc) or "Unsupported global" in str(exc):
        return "it is a pickle that is not plain weights; it was not run"
    if "central directory" in first or "zip archive" in first:
        return "it is cut short or not a torch checkpoint"
    return f"its contents are damaged: {type(exc).__name__}{': ' + first[:200] if first else ''}"
