"""Chart maths without the chart: thinning, log10 and tick choice (the series themselves are plain
data below the widgets: `diffdash.ui.chart_series.Series`, `diffdash.runs.thin_series.ThinSeries`; the smoother is
`diffdash.compare.shared.debiased_ema`, the one the report draws with too).

Kept apart from the widget so the maths is testable without a terminal, and so the dashboard and
the compare view share one definition of "smoothed" and "log scale".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from diffdash.formats import X_AXES, compact
from diffdash.runs.thin_series import ThinSeries
from diffdash.ui.chart_series import Series

__all__ = ["X_AXES", "Series", "ThinSeries"]  # where the chart's callers have always found them

STRENGTHS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99)  # EMA decays offered by `[` / `]`
SHOW_MODES = ("both", "train", "val")
NAMED_RGB = {
    "cyan": (0, 200, 200),
    "orange": (255, 140, 0),
    "magenta": (220, 60, 220),
    "red": (220, 50, 50),
    "green": (60, 180, 60),
    "blue": (60, 110, 230),
    "yellow": (220, 200, 40),
    "white": (230, 230, 230),
}


def rgb(color: str | tuple[int, int, int]) -> tuple[int, int, int]:
    if isinstance(color, tuple):
        return color
    if color.startswith("#") and len(color) == 7:
        return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
    return NAMED_RGB.get(color, (160, 160, 160))


def faint(color: str | tuple[int, int, int], keep: float = 0.4, base: int = 40) -> tuple[int, int, int]:
    """The colour mixed towards a dark grey: the raw curve drawn under its smoothed one."""
    return tuple(int(base + keep * (c - base)) for c in rgb(color))  # type: ignore[return-value]


def nearest(xs: Sequence[float], x: float) -> int | None:
    """Index of the point of `xs` closest to `x` (the readout's value under the cursor)."""
    if not xs:
        return None
    return min(range(len(xs)), key=lambda i: abs(xs[i] - x))


def finite_pairs(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    """Drop points where x or y is None, nan or inf: plotext crashes on them."""
    out_x, out_y = [], []
    for x, y in zip(xs, ys, strict=False):
        if x is None or y is None:
            continue
        x, y = float(x), float(y)
        if math.isfinite(x) and math.isfinite(y):
            out_x.append(x)
            out_y.append(y)
    return out_x, out_y


def thin(xs: Sequence[float], ys: Sequence[float], max_points: int) -> tuple[list[float], list[float]]:
    """Bin-average down to at most `max_points` (plotext's build time grows with the point count)."""
    n = len(ys)
    if n <= max_points:
        return list(xs), list(ys)
    out_x, out_y = [], []
    for b in range(max_points):
        lo, hi = b * n // max_points, (b + 1) * n // max_points
        if hi > lo:
            out_x.append(sum(xs[lo:hi]) / (hi - lo))
            out_y.append(sum(ys[lo:hi]) / (hi - lo))
    return out_x, out_y


def log_ticks(lo: float, hi: float, max_ticks: int = 6) -> tuple[list[float], list[str]]:
    """Tick positions (in log10 units) at 1-2-5 values between `lo` and `hi`, labelled in real units."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    if hi <= lo:
        return [lo], [fmt_value(10**lo)]
    for mantissas in ((1.0,), (1.0, 5.0), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)):
        ticks = [
            math.log10(m) + k
            for k in range(math.floor(lo) - 1, math.ceil(hi) + 1)
            for m in mantissas
            if lo <= math.log10(m) + k <= hi
        ]
        if len(ticks) >= 3 or (mantissas[-1] == 7.0 and ticks):
            break
    if len(ticks) < 2:
        ticks = [lo + (hi - lo) * i / 4 for i in range(5)]
    if len(ticks) > max_ticks:
        step = math.ceil(len(ticks) / max_ticks)
        ticks = ticks[::step]
    return ticks, distinct_labels([10**t for t in ticks])


def distinct_labels(values: Sequence[float]) -> list[str]:
    """The shortest labels (3 to 6 significant digits) that tell neighbouring ticks apart."""
    for digits in range(3, 7):
        labels = [fmt_value(v, digits) for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def fmt_value(v: float, digits: int = 3) -> str:
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.{digits}g}"
    return f"{v:.{digits - 2}e}"


def linear_ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> tuple[list[float], list[str]]:
    """About `n` ticks at round values (1, 2, 2.5, 5 x 10^k) between `lo` and `hi`, labelled compactly."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [], []
    raw = (hi - lo) / (n + 1)
    mag = 10 ** math.floor(math.log10(raw))
    mantissas = (1, 2, 5, 10) if integer and mag < 10 else (1, 2, 2.5, 5, 10)  # no 2.5 between integer steps
    step = next(m * mag for m in mantissas if m * mag >= raw)
    if integer:
        step = max(step, 1)
    first = math.ceil(lo / step) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9:
        ticks.append(v)
        v += step
    return ticks, [compact(t) for t in ticks]
