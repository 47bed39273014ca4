"""When the engine draws a preview grid: `--sample-every` parsed, and the clock that applies it.

An epoch on full MNIST takes many minutes on a CPU, so "every N epochs" alone leaves the screen
without a grid for that long. `--sample-every` therefore also takes a step count (`500steps`) or a
duration (`90s`, `2m`, `1h`), and its default `auto` draws a grid at the end of every epoch and,
inside long epochs, after 45 s, then at doubling intervals (at most 15 minutes apart): the first
grid within a minute, and previews that cost almost nothing over a long run. Terms combine with
commas (`1,5m`). A grid drawn inside an epoch is filed by epoch and step, one at its end by epoch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AUTO_FIRST_S = 45.0  # plus the preview itself (~10 s on a CPU): the first grid within a minute
AUTO_MAX_S = 900.0
_TERM = re.compile(r"^(\d+(?:\.\d+)?)\s*(|e|epoch|epochs|step|steps|s|sec|m|min|h)$")
_SECONDS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


class CadenceError(ValueError):
    pass


@dataclass(frozen=True)
class Cadence:
    epochs: int | None = None
    steps: int | None = None
    seconds: float | None = None
    auto: bool = False

    def describe(self) -> str:
        parts = []
        if self.auto:
            parts.append("every epoch, and inside long epochs after 45 s, then at doubling intervals")
        if self.epochs:
            parts.append("every epoch" if self.epochs == 1 else f"every {self.epochs} epochs")
        if self.steps:
            parts.append(f"every {self.steps:,} steps")
        if self.seconds:
            parts.append(f"every {self.seconds:g} s of training")
        return ", ".join(parts)

    def epoch_grids(self, epochs: int) -> int:
        """How many epoch-end grids `epochs` more epochs bring (for an ETA); time and step grids not counted."""
        if self.auto:
            return epochs
        return epochs // self.epochs if self.epochs else 0


def parse_cadence(text: str | int) -> Cadence:
    """'auto', '2' (epochs), '500steps', '90s', '2m', '1h', or several joined by commas."""
    fields: dict[str, float | int | bool] = {}
    for raw in str(text).lower().split(","):
        term = raw.strip()
        if term == "auto":
            fields["auto"] = True
            continue
        match = _TERM.match(term)
        if not match:
            raise CadenceError(
                f"sample-every term {raw.strip()!r} is not understood: give epochs (2), steps (500steps), "
                "a duration (90s, 2m, 1h) or auto"
            )
        value, unit = float(match.group(1)), match.group(2)
        if value <= 0:
            raise CadenceError(f"sample-every term {raw.strip()!r} must be positive")
        if unit in _SECONDS:
            fields["seconds"] = value * _SECONDS[unit]
        elif value != int(value):
            raise CadenceError(f"sample-every term {raw.strip()!r}: epochs and steps are whole numbers")
        elif unit in ("step", "steps"):
            fields["steps"] = int(value)
        else:
            fields["epochs"] = int(value)
    return Cadence(**fields)


class PreviewClock:
    """Says whether a grid is due; times are the engine's training-session seconds (pauses excluded)."""

    def __init__(self, cadence: Cadence, now: float):
        self.cadence = cadence
        self.last_grid = now
        self.auto_wait = AUTO_FIRST_S

    def drawn(self, now: float) -> None:
        """Any grid (due, requested with `s`, or at an epoch's end) restarts the time cadence."""
        if self.cadence.auto and now - self.last_grid >= self.auto_wait:
            self.auto_wait = min(self.auto_wait * 2, AUTO_MAX_S)
        self.last_grid = now

    def due_in_epoch(self, step: int, now: float) -> bool:
        c = self.cadence
        if c.steps and step % c.steps == 0:
            return True
        if c.seconds and now - self.last_grid >= c.seconds:
            return True
        return c.auto and now - self.last_grid >= self.auto_wait

    def due_at_epoch_end(self, epoch: int, step: int, now: float) -> bool:
        c = self.cadence
        if c.auto or (c.epochs and epoch % c.epochs == 0):
            return True
        return bool((c.steps or c.seconds) and self.due_in_epoch(step, now))
