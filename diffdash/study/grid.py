"""A study's grid: the product of option lists, one member per combination, named from its values.

The names are derived from the values alone (never from the order runs happen to start in), so the same
file always gives the same run folders: that is what lets a killed study continue without duplicates.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

SLUG_BAD = re.compile(r"[^A-Za-z0-9.]+")


def value_slug(value: Any) -> str:
    """A value as it appears in a run name: 0.0002 -> 0.0002, [16, 32] -> 16-32, 'growing' -> growing."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return format(value, "g")
    if isinstance(value, (list, tuple)):
        return "-".join(value_slug(v) for v in value)
    return SLUG_BAD.sub("-", str(value)).strip("-") or "x"


def key_slug(key: str) -> str:
    return key.replace("_", "-")


def member_name(combo: dict[str, Any]) -> str:
    """{'lr': 0.0001, 'n_hidden': [16, 32]} -> 'lr0.0001_n-hidden16-32' (keys in the grid's order)."""
    return "_".join(f"{key_slug(k)}{value_slug(v)}" for k, v in combo.items())


def expand(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's lists, the first key varying slowest (as nested loops in file order)."""
    if not grid:
        return []
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]
