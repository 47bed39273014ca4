"""A plotext line chart of named series with log scale, smoothing and x-axis switches.

Generic on purpose: the dashboard draws one run's train/val losses, the compare view one line per
run. Everything plotext cannot take is removed before it gets there: non-finite values are
filtered, log10 is applied by hand (plotext 5's own log scale crashes on redraw), and each series
is thinned to a few hundred points so a redraw stays cheap however long the run.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.reactive import reactive
from textual_plotext import PlotextPlot

from diffdash.ui.widgets.series import Series, ema, finite_pairs, linear_ticks, log10_pairs, log_ticks, thin

AXIS_LABELS = {"step": "step", "images": "images seen", "time": "training time (s)", "epoch": "epoch"}


class LossChart(PlotextPlot):
    """Set data with `set_series`; toggle `log_scale`, `smoothing`, `x_axis` (reactives)."""

    DEFAULT_CSS = """
    LossChart { width: 1fr; height: 1fr; min-height: 6; }
    """

    log_scale: reactive[bool] = reactive(True)
    smoothing: reactive[bool] = reactive(True)
    x_axis: reactive[str] = reactive("step")

    def __init__(
        self,
        title: str = "loss",
        *,
        max_points: int = 300,
        alpha: float = 0.1,
        empty_text: str = "waiting for data",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ):
        super().__init__(name=name, id=id, classes=classes)
        self.chart_title = title
        self.max_points = max_points
        self.alpha = alpha
        self.empty_text = empty_text
        self.series: list[Series] = []
        self.points_drawn = 0  # how many points reached plotext at the last draw (tests and benchmarks)

    def set_series(self, series: Sequence[Series]) -> None:
        self.series = list(series)
        self._draw()

    def on_resize(self) -> None:
        self._draw()  # the tick count depends on the width

    def watch_log_scale(self) -> None:
        self._draw()

    def watch_smoothing(self) -> None:
        self._draw()

    def watch_x_axis(self) -> None:
        self._draw()

    def prepared(self) -> list[tuple[Series, list[float], list[float]]]:
        """Each series' points as they will be drawn: filtered, smoothed, thinned and log10'd."""
        out = []
        for s in self.series:
            xs = s.x.get(self.x_axis)
            if xs is None:
                xs = next(iter(s.x.values()), [])
            x, y = finite_pairs(xs, s.y)
            if self.smoothing and s.smooth and len(y) > 2:
                y = ema(y, self.alpha)
            x, y = thin(x, y, self.max_points)
            if self.log_scale:
                x, y = log10_pairs(x, y)
            if y:
                out.append((s, x, y))
        return out

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        data = self.prepared()
        self.points_drawn = sum(len(y) for _, _, y in data)
        flags = [self.x_axis, "log" if self.log_scale else "linear", "smoothed" if self.smoothing else "raw"]
        plt.title(f"{self.chart_title}  ({', '.join(flags)})")
        plt.xlabel(AXIS_LABELS.get(self.x_axis, self.x_axis))
        if not data:
            plt.text(self.empty_text, 0.5, 0.5, alignment="center")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            self.refresh()
            return
        for s, x, y in data:
            if s.scatter or len(y) == 1:
                plt.scatter(x, y, label=s.name, color=s.color, marker="dot" if len(y) > 1 else "o")
            else:
                plt.plot(x, y, label=s.name, color=s.color, marker=s.marker)
        lo = min(min(y) for _, _, y in data)
        hi = max(max(y) for _, _, y in data)
        if hi - lo < 1e-9:
            pad = abs(lo) * 0.05 or 0.05
            lo, hi = lo - pad, hi + pad
        plt.ylim(lo, hi)
        x_lo = min(min(x) for _, x, _ in data)
        x_hi = max(max(x) for _, x, _ in data)
        if x_hi - x_lo < 1e-9:
            x_lo, x_hi = x_lo - 1, x_hi + 1
        plt.xlim(x_lo, x_hi)
        xticks, xlabels = linear_ticks(x_lo, x_hi, n=max(min(self.size.width // 10, 8), 2), integer=True)
        if xticks:
            plt.xticks(xticks, xlabels)
        if self.log_scale:
            ticks, labels = log_ticks(lo, hi)
            plt.yticks(ticks, labels)
        self.refresh()
