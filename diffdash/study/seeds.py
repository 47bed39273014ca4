"""Seeds in a study file: `seeds = [0, 1, 2]` (or `seeds = 3`, meaning 0, 1, 2) on a member or in [defaults]
makes one run per seed, named `<member>-s<seed>` and grouped under the member's name.

A difference between two settings means little until it exceeds the spread between seeds; the group is what
`study report` and `compare --group-by` draw as a mean with a band.
"""

from __future__ import annotations

from typing import Any

SEEDS_KEY = "seeds"
MAX_SEEDS = 64


class SeedsError(ValueError):
    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def take(table: dict[str, Any], where: str) -> tuple[dict[str, Any], list[int] | None]:
    """The table without its `seeds` key, and the seeds it asked for (None when it asked for none)."""
    if SEEDS_KEY not in table:
        return table, None
    rest = {k: v for k, v in table.items() if k != SEEDS_KEY}
    return rest, parse(table[SEEDS_KEY], f"{where}.{SEEDS_KEY}")


def parse(value: Any, key: str) -> list[int]:
    """3 -> [0, 1, 2]; [0, 7] -> [0, 7]; anything else names the key."""
    example = "e.g. seeds = 3 or seeds = [0, 1, 2]"
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= MAX_SEEDS:
            raise SeedsError(key, f"the number of seeds must be 1..{MAX_SEEDS}, got {value} ({example})")
        return list(range(value))
    if not isinstance(value, list) or not value:
        raise SeedsError(key, f"takes a number of seeds or a list of seeds ({example}), got {value!r}")
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63 for v in value):
        raise SeedsError(key, f"seeds are whole numbers from 0 ({example}), got {value!r}")
    if len(set(value)) != len(value):
        raise SeedsError(key, f"a seed appears twice in {value!r}")
    if len(value) > MAX_SEEDS:
        raise SeedsError(key, f"at most {MAX_SEEDS} seeds, got {len(value)}")
    return list(value)


def expand(
    name: str, own: dict[str, Any], own_seeds: list[int] | None, default_seeds: list[int] | None, where: str
) -> list[tuple[str, dict[str, Any], str | None]]:
    """(member name, its own options, its group) for each seed; one unchanged member when no seeds apply.

    A member that sets `seed` itself opts out of [defaults] seeds; `seed` beside its own `seeds` is an error.
    """
    if own_seeds is not None and "seed" in own:
        raise SeedsError(f"{where}.{SEEDS_KEY}", "give either seed or seeds, not both")
    seeds = own_seeds if own_seeds is not None else (None if "seed" in own else default_seeds)
    if seeds is None:
        return [(name, own, None)]
    return [(f"{name}-s{s}", {**own, "seed": s}, name) for s in seeds]
