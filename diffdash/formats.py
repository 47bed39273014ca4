"""How figures, run states and chart axes are written: one definition each, so every view agrees.

No torch and no UI here (plain colour names that click, Rich and Textual all read).
"""

from __future__ import annotations

# The chart's `a` cycle (epoch first in every view), and what each axis is called and counted in.
X_AXES = ("epoch", "images", "time", "step")
COMPARE_AXES = ("epoch", "images", "time")  # runs of other batch sizes share no step axis
AXIS_LABELS = {"epoch": "epoch", "images": "images seen", "time": "training time (s)", "step": "step"}
AXIS_UNITS = {"epoch": "epochs", "images": "images", "time": "s", "step": "steps"}

# The colour of a run's state in listings and tables (the dashboard header has its own bold styles).
STATE_COLOURS = {
    "created": "blue",
    "running": "cyan",
    "finished": "green",
    "failed": "red",
    "stopped": "yellow",
    "crashed": "magenta",
    "pruned": "yellow",
}


def format_seconds(s: float | None, missing: str = "-") -> str:
    """A duration for tables: 42s, 3m05s, 2h07m; `missing` when unknown (`format_clock` for progress lines)."""
    if s is None:
        return missing
    s = int(round(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def format_clock(seconds: float | None) -> str:
    """A duration on a clock, for progress lines and panels: 04:05, 1:02:03; "--:--" when unknown."""
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def plural(n: int, word: str) -> str:
    """ "1 epoch", "2,000 steps"."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def compact(v: float, digits: int = 4) -> str:
    """A number in a narrow place, to `digits` significant digits: 12000 -> 12k, 1500000 -> 1.5M, 0.25 -> 0.25
    (chart ticks, parameter counts); one that rounds up to 1000 takes the next suffix: 999999 -> 1M."""
    text, suffix = f"{v:.{digits}g}", ""
    for div, bigger in ((1e3, "k"), (1e6, "M"), (1e9, "G")):
        if abs(float(text)) < 1000:
            break
        text, suffix = f"{v / div:.{digits}g}", bigger
    return text + suffix


def format_loss(v: float | None, digits: int = 5) -> str:
    """A loss (or other small figure) to `digits` decimals; "-" when there is none."""
    return "-" if v is None else f"{v:.{digits}f}"


def format_at(v: float | None, epoch: int | None, digits: int = 5, at: str = " @") -> str:
    """A best figure and the epoch it came from: "0.03215 @7" (at=" @ " in Markdown tables); "-" when none."""
    return "-" if v is None else f"{format_loss(v, digits)}{at}{epoch}"
