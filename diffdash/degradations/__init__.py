"""Degradations D(x0, t) for cold diffusion: one module per degradation, found by file name.

Adding a degradation means adding one module here that defines `build(config, device) -> Degradation`;
its file name is the name users pass to `--degradation`. Nothing here imports torch, so the list of
names is cheap enough for option validation.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffdash.degradations.base import Degradation
    from diffdash.options.run_config import RunConfig

NOT_DEGRADATIONS = {"base", "levels"}  # levels: what survives each level (their flags: options/cold_options.py)


def names() -> tuple[str, ...]:
    """The available degradations: every public module in this package but the base."""
    found = (m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    return tuple(sorted(n for n in found if n not in NOT_DEGRADATIONS))


def build_degradation(config: RunConfig, device: str = "cpu") -> Degradation:
    if config.degradation not in names():
        raise ValueError(f"unknown degradation {config.degradation!r}: choose one of {', '.join(names())}")
    module = importlib.import_module(f"diffdash.degradations.{config.degradation}")
    return module.build(config, device)
