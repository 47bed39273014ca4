"""The loss chart both apps share: braille lines, a legend outside the plot, a readout and an x window.

Generic on purpose: the dashboard draws one run's train/val losses, the compare view two lines per run.
The view state (log scale, smoothing and its strength, train/val/both, x axis, x window, readout
cursor) lives here as reactives, so one set of keys (chart_keys.py) means the same in every app.
Everything plotext cannot take is removed before it gets there: non-finite values are filtered, log10
is applied by hand (plotext 5's own log scale crashes on redraw), and each line is thinned to a few
hundred points so a redraw stays cheap however long the run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static
from textual_plotext import PlotextPlot

from diffdash.compare.shared import debiased_ema
from diffdash.formats import AXIS_LABELS, AXIS_UNITS, X_AXES, compact
from diffdash.ui.widgets.series import (
    Series,
    faint,
    finite_pairs,
    fmt_value,
    linear_ticks,
    log_ticks,
    nearest,
    rgb,
    thin,
)

CURSOR_STEPS = 40  # `,` / `.` move the readout cursor by 1/40 of the visible x range
MIN_ZOOM = 1 / 64
XLABEL_MIN_HEIGHT = 16  # a shorter plot gives the x label's row to the curves


@dataclass
class Line:
    """One line as drawn: x and y after smoothing, windowing, thinning (and log10 when on)."""

    series: Series
    x: list[float]
    y: list[float]
    real_y: list[float]  # y in loss units, for the readout
    faint: bool = False


class PlotArea(PlotextPlot):
    """The plotext canvas; its owner redraws it when its size changes (the ticks depend on it)."""

    def on_resize(self) -> None:
        if isinstance(self.parent, LossChart):
            self.parent.redraw()


class LossChart(Vertical):
    """Set data with `set_series`; view switches are reactives: `log_scale`, `smoothing`, `strength`,
    `show`, `x_axis`, `zoom` (fraction of the x range shown, newest end) and `cursor` (readout, None: off)."""

    DEFAULT_CSS = """
    LossChart { width: 1fr; height: 1fr; min-height: 8; }
    LossChart > .legend { height: auto; padding: 0 1; }
    LossChart > PlotArea { height: 1fr; min-height: 4; }
    LossChart > .readout { height: auto; padding: 0 1; color: $text-muted; }
    LossChart > .flags { height: 1; padding: 0 1; color: $text-muted; display: none; }
    """

    log_scale: reactive[bool] = reactive(True)
    smoothing: reactive[bool] = reactive(True)
    strength: reactive[float] = reactive(0.9)
    show: reactive[str] = reactive("both")
    x_axis: reactive[str] = reactive("epoch")
    zoom: reactive[float] = reactive(1.0)
    cursor: reactive[float | None] = reactive(None)

    def __init__(
        self,
        title: str = "loss",
        *,
        max_points: int = 300,
        empty_text: str = "waiting for data",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ):
        super().__init__(name=name, id=id, classes=classes)
        self.chart_title = title
        self.max_points = max_points
        self.empty_text = empty_text
        self.series: list[Series] = []
        self.lines: list[Line] = []
        self.window: tuple[float, float] | None = None  # visible x range of the last draw
        self.points_drawn = 0  # how many points reached plotext at the last draw (tests and benchmarks)

    def compose(self) -> ComposeResult:
        yield Static(classes="legend")
        yield PlotArea()
        yield Static(classes="readout")
        yield Static(classes="flags")  # the view's state, kept below the readout while the cursor is on

    def on_mount(self) -> None:
        self.redraw()

    @property
    def plt(self):
        return self.query_one(PlotArea).plt

    def set_series(self, series: Sequence[Series]) -> None:
        self.series = list(series)
        self.redraw()

    def watch_log_scale(self) -> None:  # every view switch redraws; the others share this watcher
        self.redraw()

    watch_smoothing = watch_strength = watch_show = watch_x_axis = watch_zoom = watch_cursor = watch_log_scale

    # ---------------------------------------------------------------- data
    def axes(self) -> list[str]:
        """The x axes some series can be drawn against, in the `a` cycle's order."""
        have = {a for s in self.series for a in s.x}
        return [a for a in X_AXES if a in have] or [self.x_axis]

    @property
    def axis(self) -> str:
        """The axis drawn: `x_axis`, or the first one the series have when none has that."""
        axes = self.axes()
        return self.x_axis if self.x_axis in axes else axes[0]

    def visible_series(self) -> list[Series]:
        return [s for s in self.series if self.show == "both" or s.kind == self.show]

    def smoothed(self, s: Series) -> bool:
        return self.smoothing and s.smooth and self.strength > 0

    def _lines(self) -> list[Line]:
        pairs = []
        for s in self.visible_series():
            xs = s.x.get(self.axis)
            if xs is None:
                continue
            x, y = finite_pairs(xs, s.y)
            if y:
                pairs.append((s, x, y))
        if not pairs:
            self.window = None
            return []
        x_min = min(min(x) for _, x, _ in pairs)
        x_max = max(max(x) for _, x, _ in pairs)
        x_lo = x_max - self.zoom * (x_max - x_min) if self.zoom < 1 else x_min
        self.window = (x_lo, x_max)
        out = []
        for s, x, y in pairs:
            versions = [(y, False)]
            if self.smoothed(s) and len(y) > 2:
                versions = [(y, True), (debiased_ema(y, self.strength), False)]
            for ys, is_faint in versions:
                keep = [i for i, v in enumerate(x) if v >= x_lo]
                wx, wy = thin([x[i] for i in keep], [ys[i] for i in keep], self.max_points)
                shown = [(a, b) for a, b in zip(wx, wy, strict=True) if not self.log_scale or b > 0]
                if not shown:
                    continue
                lx, ly = [p[0] for p in shown], [p[1] for p in shown]
                plot_y = [math.log10(v) for v in ly] if self.log_scale else ly
                out.append(Line(s, lx, plot_y, ly, faint=is_faint))
        return out

    def prepared(self) -> list[tuple[Series, list[float], list[float]]]:
        """Each series' main line as drawn (smoothed when smoothing is on), without the faint raw lines."""
        return [(ln.series, ln.x, ln.y) for ln in self._lines() if not ln.faint]

    # ---------------------------------------------------------------- drawing
    def redraw(self) -> None:
        if not self.is_mounted:
            return
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self.lines = lines = self._lines()
        self.points_drawn = sum(len(ln.y) for ln in lines if not ln.faint)
        if self.query_one(PlotArea).size.height >= XLABEL_MIN_HEIGHT:  # else the flags line names the axis
            plt.xlabel(AXIS_LABELS.get(self.axis, self.axis))
        self.query_one(".legend", Static).update(self.legend())
        if not lines:
            plt.text(self.empty_text, 0.5, 0.5, alignment="center")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
            self.query_one(".readout", Static).update(self.flags())
            self.query_one(".flags", Static).display = False
            self.query_one(PlotArea).refresh()
            return
        for ln in lines:
            s = ln.series
            colour = faint(s.color) if ln.faint else rgb(s.color)
            if len(ln.y) == 1:
                plt.scatter(ln.x, ln.y, color=colour, marker="●")
                continue
            plt.plot(ln.x, ln.y, color=colour, marker=s.marker)
            if s.epoch_marks and not ln.faint:
                plt.scatter(ln.x, ln.y, color=colour, marker="●")
        lo = min(min(ln.y) for ln in lines)
        hi = max(max(ln.y) for ln in lines)
        if hi - lo < 1e-9:
            pad = abs(lo) * 0.05 or 0.05
            lo, hi = lo - pad, hi + pad
        plt.ylim(lo, hi)
        x_lo, x_hi = self.window or (0.0, 1.0)
        if x_hi - x_lo < 1e-9:
            x_lo, x_hi = x_lo - 1, x_hi + 1
        plt.xlim(x_lo, x_hi)
        width = self.query_one(PlotArea).size.width
        integer = self.axis != "time" and x_hi - x_lo >= 4
        xticks, xlabels = linear_ticks(x_lo, x_hi, n=max(min(width // 10, 8), 2), integer=integer)
        if xticks:
            plt.xticks(xticks, xlabels)
        if self.log_scale:
            ticks, labels = log_ticks(lo, hi)
            plt.yticks(ticks, labels)
        text = self.flags()
        flags = self.query_one(".flags", Static)
        flags.display = self.cursor is not None
        if self.cursor is not None:
            cx = x_lo + self.cursor * (x_hi - x_lo)
            plt.vline(cx, (200, 200, 200))
            flags.update(text)
            text = self.readout(cx)
        self.query_one(".readout", Static).update(text)
        self.query_one(PlotArea).refresh()

    def legend(self) -> Text:
        """Colours named once each, outside the plot: runs (groups) or series, then how lines read. A narrow chart
        breaks the line between entries, never inside one."""
        series = self.visible_series()
        entries: list[Text] = []
        smoothing = f"EMA {self.strength:g}" if self.smoothing and self.strength > 0 else ""
        if smoothing and self.size.width >= 40:
            smoothing += ", raw faint"
        if series and all(s.group for s in series):
            groups: dict[str, tuple[int, int, int]] = {}
            for s in series:
                groups.setdefault(s.group or "", rgb(s.color))
            entries = [Text("■ " + name, style=_style(colour)) for name, colour in groups.items()]
            kinds = {s.kind for s in series}
            if "train" in kinds:
                smooth = any(self.smoothed(s) for s in series if s.kind == "train")
                entries.append(Text("─ train" + (f" ({smoothing})" if smooth else ""), style="dim"))
            if "val" in kinds:
                entries.append(Text("─●─ val", style="dim"))
            bands = dict.fromkeys(s.band for s in series if s.band)  # a group's band edges, named once
            entries += [Text(f"┈ dimmer: {band}", style="dim") for band in bands]
            return self._flow(entries)
        for s in series:
            label = s.name + (f" {smoothing}" if self.smoothed(s) else "") + (" ●" if s.epoch_marks else "")
            entries.append(Text("■ " + label, style=_style(rgb(s.color))))
        return self._flow(entries)

    def _flow(self, entries: list[Text], sep: str = "  ") -> Text:
        """Entries on as few lines as the chart's width allows, each kept whole (Textual would wrap at any space)."""
        width = max(self.size.width - 2, 20)  # the padding
        out, used = Text(), 0
        for entry in entries:
            if used and used + len(sep) + entry.cell_len > width:
                out.append("\n")
                used = 0
            elif used:
                out.append(sep)
                used += len(sep)
            out.append_text(entry)
            used += entry.cell_len
        return out

    def flags(self) -> str:
        """The view's state in one line (a person sees at once what they are looking at)."""
        scale = "log" if self.log_scale else "linear"
        window = "all"
        if self.zoom < 1 and self.window:
            span = self.window[1] - self.window[0]
            amount = compact(span) if span >= 1000 else f"{span:.3g}"
            window = f"last {amount} {AXIS_UNITS.get(self.axis, '')}".rstrip()
        show = {"both": "train+val", "train": "train only", "val": "val only"}.get(self.show, self.show)
        shown = f"{self.chart_title} (g) · " if self.chart_title != "loss" else ""  # another view than the loss
        return f"{shown}x {AXIS_LABELS.get(self.axis, self.axis)} · {scale} · {show} · {window}"

    def readout(self, cx: float) -> Text:
        """Every main line's value at the cursor (its nearest point), TensorBoard's hover in a line.

        The x reads in its axis's units ("step 61", "images seen 11,100", "epoch 60.85"); each "name value"
        is kept whole, so a narrow chart wraps between them, within the chart's own width."""
        entries = [Text(f"{AXIS_LABELS.get(self.axis, self.axis)} {x_text(self.axis, cx)} ▏", style="bold")]
        for ln in self.lines:
            if ln.faint:
                continue
            i = nearest(ln.x, cx)
            if i is None:
                continue
            entry = Text(ln.series.name, style=_style(rgb(ln.series.color))) + " " + fmt_value(ln.real_y[i], 4)
            note = _note(ln, self.axis, i)
            entries.append(entry + (Text(" " + note, style="dim") if note else ""))
        return self._flow(entries, sep=" ")

    def values_at_cursor(self) -> dict[str, float]:
        """{series name: value} under the cursor (what the readout line prints)."""
        if self.cursor is None or not self.window:
            return {}
        cx = self.window[0] + self.cursor * (self.window[1] - self.window[0])
        out = {}
        for ln in self.lines:
            i = nearest(ln.x, cx)
            if not ln.faint and i is not None:
                out[ln.series.name] = ln.real_y[i]
        return out

    # ---------------------------------------------------------------- moves the keys make
    def move_cursor(self, steps: int) -> None:
        start = 1.0 if self.cursor is None else self.cursor
        self.cursor = min(1.0, max(0.0, start + steps / CURSOR_STEPS)) if self.cursor is not None else start

    def scale_zoom(self, factor: float) -> None:
        """factor < 1 narrows the window to the newest part, > 1 widens it, 0 shows everything."""
        self.zoom = 1.0 if factor <= 0 else min(1.0, max(MIN_ZOOM, self.zoom * factor))


def x_text(axis: str, x: float) -> str:
    """The cursor's x in its axis's units: whole steps and images (with thousands commas), epochs to 2 decimals."""
    if axis in ("step", "images"):
        return f"{round(x):,}"
    if axis == "epoch":
        return f"{x:.2f}"
    return fmt_value(x, 4)


def _note(ln: Line, axis: str, i: int) -> str:
    """The series' note of the drawn point i (drawn x values are the series' own: notes come on unsmoothed lines)."""
    notes, xs = ln.series.notes, ln.series.x.get(axis)
    j = nearest(xs, ln.x[i]) if notes and xs else None
    return notes[j] if j is not None and j < len(notes) else ""


def _style(colour: tuple[int, int, int]) -> str:
    return "rgb({},{},{})".format(*colour)
