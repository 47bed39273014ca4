"""Per-step points (several x columns, one y) that may be kept under a cap by averaging neighbours.

The run reducer (`History`) keeps its step losses here: uncapped for a finished run read once (every
point exactly as logged), capped for the live dashboard's bounded copy. No torch and no UI here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

STEP_COLUMNS = ("step", "images", "time")  # the x values recorded for every step


class ThinSeries:
    """Points under `cap` (None: no cap): when full, neighbouring pairs are averaged.

    Memory stays flat over a run of any length while the chart still spans the whole run; recent points
    arrive at the current stride, so old and new history have the same density. Non-finite y values are
    skipped (the chart cannot draw them).
    """

    def __init__(self, axes: Sequence[str] = STEP_COLUMNS, cap: int | None = 512):
        self.axes = tuple(axes)
        self.cap = None if cap is None else max(4, cap - cap % 2)
        self.cols: dict[str, list[float]] = {a: [] for a in self.axes}
        self.y: list[float] = []
        self.stride = 1
        self._pending: list[tuple[dict[str, float], float]] = []

    def __len__(self) -> int:
        return len(self.y)

    def add(self, xs: dict[str, float], y: float) -> None:
        if not math.isfinite(y):
            return
        if self.stride == 1:  # values as logged (ints stay ints)
            for a in self.axes:
                self.cols[a].append(xs.get(a, 0))
            self.y.append(y)
        else:
            self._pending.append((xs, y))
            if len(self._pending) < self.stride:
                return
            for a, v in zip(self.axes, self._mean_x(), strict=True):
                self.cols[a].append(v)
            self.y.append(sum(p[1] for p in self._pending) / len(self._pending))
            self._pending = []
        if self.cap is not None and len(self.y) >= self.cap:
            self._halve()

    def _mean_x(self) -> list[float]:
        n = len(self._pending)
        return [sum(p[0].get(a, 0.0) for p in self._pending) / n for a in self.axes]

    def view(self) -> tuple[dict[str, list[float]], list[float]]:
        """Copies of the columns and y, with the partly filled newest bucket appended (the chart's tip is live)."""
        cols = {a: list(c) for a, c in self.cols.items()}
        y = list(self.y)
        if self._pending:
            for a, v in zip(self.axes, self._mean_x(), strict=True):
                cols[a].append(v)
            y.append(sum(p[1] for p in self._pending) / len(self._pending))
        return cols, y

    def _halve(self) -> None:
        for a in self.axes:
            c = self.cols[a]
            self.cols[a] = [(c[i] + c[i + 1]) / 2 for i in range(0, len(c) - 1, 2)]
        y = self.y
        self.y = [(y[i] + y[i + 1]) / 2 for i in range(0, len(y) - 1, 2)]
        self.stride *= 2

    def keep_where(self, keep: Callable[[dict[str, float]], bool]) -> None:
        """Forget the points whose x values fail `keep` (a resumed run redoes the steps after its checkpoint)."""
        rows = [dict(zip(self.axes, xs, strict=True)) for xs in zip(*self.cols.values(), strict=True)]
        kept = [i for i, xs in enumerate(rows) if keep(xs)]
        for a in self.axes:
            self.cols[a] = [self.cols[a][i] for i in kept]
        self.y = [self.y[i] for i in kept]
        self._pending = [p for p in self._pending if keep(p[0])]
