"""One set of chart keys for every app, declared once, and the command palette that offers them.

`ChartApp` is the base of the dashboard and of compare: its BINDINGS are the loss chart's keys
(`t` train/val/both, `l` log, `m` smoothing, `[`/`]` its strength, `a` x axis, `r` `,` `.` readout,
`+` `-` `0` x window, `g` what it shows: loss, gradient norm, learning rate, CPU %, memory), so the same key
does the same thing in both. `AppCommands` puts every key of
the running app (and commands an app adds in `extra_commands`) into the command palette (ctrl+p).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.reactive import reactive

from diffdash.ui.chart_views import EMPTY_TEXT, VIEW_TITLES, next_view
from diffdash.ui.widgets.loss_chart import LossChart
from diffdash.ui.widgets.series import SHOW_MODES, STRENGTHS

CHART_BINDINGS = [
    Binding("t", "cycle_show", "train/val", tooltip="Loss chart: show train, validation or both"),
    Binding("l", "toggle_log", "log", tooltip="Loss chart: log / linear scale"),
    Binding("m", "toggle_smooth", "smooth", tooltip="Loss chart: smoothing on / off (raw curve stays faint)"),
    Binding("left_square_bracket", "strength(-1)", "less smooth", key_display="[", show=False,
            tooltip="Loss chart: weaker smoothing (EMA strength down)"),
    Binding("right_square_bracket", "strength(1)", "more smooth", key_display="]", show=False,
            tooltip="Loss chart: stronger smoothing (EMA strength up)"),
    Binding("a", "cycle_axis", "x-axis", tooltip="Loss chart: x axis epoch / images seen / training time / step"),
    Binding("g", "cycle_view", "chart", show=False,
            tooltip="Chart: loss / FID / digits covered / confidence / gradient norm / learning rate / CPU % / memory"),
    Binding("r", "toggle_readout", "readout", show=False, tooltip="Loss chart: readout cursor on / off"),
    Binding("comma", "cursor(-1)", "cursor ←", key_display=",", show=False,
            tooltip="Loss chart: move the readout cursor left"),
    Binding("full_stop", "cursor(1)", "cursor →", key_display=".", show=False,
            tooltip="Loss chart: move the readout cursor right"),
    Binding("plus,equals_sign", "zoom(0.5)", "zoom in", key_display="+", show=False,
            tooltip="Loss chart: narrow the x range to its newest half"),
    Binding("minus", "zoom(2)", "zoom out", key_display="-", show=False, tooltip="Loss chart: widen the x range"),
    Binding("0", "zoom(0)", "all x", show=False, tooltip="Loss chart: show the whole x range"),
]  # fmt: skip

CHART_ACTIONS = frozenset(b.action for b in CHART_BINDINGS)  # a narrow footer leaves these out first

CHART_HELP = """[b]t[/b]  loss chart: train / validation / both
[b]l[/b]  loss chart: log / linear scale
[b]m[/b]  loss chart: smoothing on / off (raw curve stays faint)   [b]\\[ ][/b]  smoothing strength
[b]a[/b]  loss chart: x axis epoch / images seen / training time / step
[b]g[/b]  chart shows: loss / FID / digits / confidence (--eval-every) / grad norm / lr / CPU % / memory
[b]r[/b]  readout cursor on / off   [b], .[/b]  move it (every curve's value at that x)
[b]+ -[/b]  narrow / widen the x range (newest end)   [b]0[/b]  all of it"""


class AppCommands(Provider):
    """The palette's entries: every key binding of the app that is active now, plus the app's own extras."""

    def commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self.app
        out = []
        seen = set()
        for key, active in self.screen.active_bindings.items():
            b = active.binding
            if not active.enabled or b.action in seen or not b.description or active.node is not app:
                continue
            seen.add(b.action)
            title = b.tooltip or b.description
            out.append((title, partial(app.run_action, b.action), f"key {b.key_display or key}"))
        extra = getattr(app, "extra_commands", None)
        if extra is not None:
            out += list(extra())
        return out

    async def discover(self) -> Hits:
        for title, command, help_text in self.commands():
            yield DiscoveryHit(title, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, command, help_text in self.commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), command, help=help_text)


class ChartApp(App):
    """An app with one LossChart: the chart keys and their palette commands, declared here only."""

    BINDINGS = CHART_BINDINGS
    COMMANDS = App.COMMANDS | {AppCommands}

    chart_view: reactive[str] = reactive("loss", init=False)  # `g`: one of CHART_VIEWS

    @property
    def chart(self) -> LossChart:
        return self.query_one(LossChart)

    def extra_commands(self) -> Iterable[tuple[str, Callable[[], object], str]]:
        """Palette entries beyond the keys (title, callback, help); apps override."""
        return []

    def action_cycle_show(self) -> None:
        chart = self.chart
        chart.show = SHOW_MODES[(SHOW_MODES.index(chart.show) + 1) % len(SHOW_MODES)]

    def action_toggle_log(self) -> None:
        self.chart.log_scale = not self.chart.log_scale

    def action_toggle_smooth(self) -> None:
        chart = self.chart
        chart.smoothing = not chart.smoothing
        if chart.smoothing and chart.strength == 0:
            chart.strength = 0.9

    def action_strength(self, step: int) -> None:
        chart = self.chart
        i = min(range(len(STRENGTHS)), key=lambda k: abs(STRENGTHS[k] - chart.strength))
        chart.strength = STRENGTHS[max(0, min(len(STRENGTHS) - 1, i + step))]
        chart.smoothing = chart.strength > 0
        self.notify(f"smoothing: EMA {chart.strength:g}" if chart.smoothing else "smoothing off", timeout=1.5)

    def chart_series_changed(self) -> None:
        """Give the chart the series of `chart_view`; apps override."""

    def action_cycle_view(self) -> None:
        self.chart_view = next_view(self.chart_view)

    def watch_chart_view(self, view: str) -> None:
        chart = self.chart
        if chart.chart_title == "loss":  # leaving the loss view: its own empty text comes back with it
            self._loss_empty_text = chart.empty_text
        chart.chart_title = VIEW_TITLES.get(view, view)
        chart.empty_text = EMPTY_TEXT.get(view) or getattr(self, "_loss_empty_text", chart.empty_text)
        self.chart_series_changed()

    def action_cycle_axis(self) -> None:
        chart = self.chart
        axes = chart.axes()
        chart.x_axis = axes[(axes.index(chart.x_axis) + 1) % len(axes)] if chart.x_axis in axes else axes[0]

    def action_toggle_readout(self) -> None:
        chart = self.chart
        chart.cursor = None if chart.cursor is not None else 1.0

    def action_cursor(self, steps: int) -> None:
        self.chart.move_cursor(steps)

    def action_zoom(self, factor: float) -> None:
        self.chart.scale_zoom(factor)
