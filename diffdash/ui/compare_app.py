"""`diffdash compare`: several runs on one screen, read from their folders and refreshed while they train.

Curves tab: every run's train (each step) and validation loss overlaid in the run's own colour, the summary
table and the config differences. Samples tab: the runs' preview grids side by side at one epoch, with one
scrubber (← / →) moving all of them. Runs are polled once a second; only what changed is redrawn.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Footer, Static, TabbedContent, TabPane

from diffdash.store import RunDir
from diffdash.ui.compare_data import SHOW_MODES, STRENGTHS, X_AXES, CompareRun, chart_series, scrub_epochs
from diffdash.ui.compare_panels import ConfigDiffTable, GridRow, SummaryTable, run_text
from diffdash.ui.widgets.loss_chart import LossChart

POLL_S = 1.0


class CompareApp(App):
    CSS_PATH = "compare.tcss"
    TITLE = "diffdash compare"
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("t", "cycle_show", "train/val"),
        Binding("l", "toggle_log", "log"),
        Binding("m", "toggle_smooth", "smooth"),
        Binding("left_square_bracket", "strength(-1)", "less", key_display="["),
        Binding("right_square_bracket", "strength(1)", "more", key_display="]"),
        Binding("a", "cycle_axis", "x-axis"),
        Binding("left", "scrub(-1)", "epoch ←", key_display="←", priority=True),
        Binding("right", "scrub(1)", "epoch →", key_display="→", priority=True),
        Binding("home", "scrub_to(0)", "first", show=False, priority=True),
        Binding("end", "scrub_to(-1)", "last", show=False, priority=True),
        Binding("1", "tab('curves')", "curves"),
        Binding("2", "tab('samples')", "samples"),
    ]

    def __init__(
        self,
        runs: list[RunDir],
        *,
        image_mode: str = "auto",
        image_cls: type[Widget] | None = None,
        poll_s: float = POLL_S,
    ):
        super().__init__()
        self.poll_s = poll_s
        self.runs = [CompareRun(run, i) for i, run in enumerate(runs)]
        self.image_mode = image_mode
        self.image_cls = image_cls
        self.show = "both"
        self.strength = 0.9
        self.epochs: list[int] = []
        self.epoch: int | None = None  # the scrubber; None until some run has a grid
        self.follow = True  # keep the scrubber on the newest epoch while runs add grids

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with TabbedContent(initial="curves"):
            with TabPane("Curves [1]", id="curves"), Vertical():
                yield LossChart("loss", alpha=1 - self.strength, id="chart")
                yield SummaryTable(id="summary")
                yield ConfigDiffTable(id="diff")
            with TabPane("Samples [2]", id="samples"), Vertical():
                yield GridRow(self.runs, self.image_mode, self.image_cls, id="grids")
                yield Static(id="scrubber")
        yield Footer()

    def on_mount(self) -> None:
        chart = self.query_one(LossChart)
        chart.x_axis = "epoch"
        for table in self.query("DataTable"):
            table.can_focus = False
        self.refresh_runs(force=True)
        self.set_interval(self.poll_s, self.refresh_runs)

    # ---------------------------------------------------------------- data
    def refresh_runs(self, force: bool = False) -> None:
        changed = [r.poll() for r in self.runs]
        if not (force or any(changed)):
            return
        self.draw_chart()
        self.query_one(SummaryTable).update_runs(self.runs)
        self.query_one(ConfigDiffTable).update_runs(self.runs)
        epochs = scrub_epochs(self.runs)
        if epochs != self.epochs:
            self.epochs = epochs
            if epochs and (self.follow or self.epoch is None):
                self.epoch = epochs[-1]
        self.draw_grids(force=True)
        self.draw_title()

    def draw_chart(self) -> None:
        chart = self.query_one(LossChart)
        chart.chart_title = f"loss: {self.show}" + (
            f", EMA {self.strength:g}" if chart.smoothing and self.show != "val" else ""
        )
        chart.alpha = 1 - self.strength
        chart.set_series(chart_series(self.runs, self.show))

    def draw_grids(self, force: bool = False) -> None:
        self.query_one(GridRow).show_epoch(self.epoch)
        if self.epoch is None:
            text = "no preview grids yet"
        else:
            i = self.epochs.index(self.epoch) if self.epoch in self.epochs else 0
            marks = "".join("●" if k == i else "·" for k in range(len(self.epochs))) if len(self.epochs) <= 60 else ""
            text = f"epoch {self.epoch}  ({i + 1}/{len(self.epochs)})  ←/→ move all grids  {marks}"
        self.query_one("#scrubber", Static).update(text)

    def draw_title(self) -> None:
        title = run_text(self.runs[0])
        for r in self.runs[1:]:
            title += "   "
            title += run_text(r)
        live = sum(r.live for r in self.runs)
        extra = f"   {live} live" if live else ""
        if self.epoch is not None:
            extra += f"   grids at epoch {self.epoch}"
        self.query_one("#title", Static).update(title + extra)

    # ---------------------------------------------------------------- keys
    def action_cycle_show(self) -> None:
        self.show = SHOW_MODES[(SHOW_MODES.index(self.show) + 1) % len(SHOW_MODES)]
        self.draw_chart()

    def action_toggle_log(self) -> None:
        chart = self.query_one(LossChart)
        chart.log_scale = not chart.log_scale

    def action_toggle_smooth(self) -> None:
        chart = self.query_one(LossChart)
        chart.smoothing = not chart.smoothing
        self.draw_chart()

    def action_strength(self, step: int) -> None:
        i = min(range(len(STRENGTHS)), key=lambda k: abs(STRENGTHS[k] - self.strength))
        self.strength = STRENGTHS[max(0, min(len(STRENGTHS) - 1, i + step))]
        self.query_one(LossChart).smoothing = self.strength > 0
        self.draw_chart()
        self.notify(f"smoothing EMA {self.strength:g}", timeout=1.5)

    def action_cycle_axis(self) -> None:
        chart = self.query_one(LossChart)
        chart.x_axis = X_AXES[(X_AXES.index(chart.x_axis) + 1) % len(X_AXES)] if chart.x_axis in X_AXES else "epoch"

    def action_scrub(self, step: int) -> None:
        if not self.epochs:
            return
        i = self.epochs.index(self.epoch) if self.epoch in self.epochs else len(self.epochs) - 1
        i = max(0, min(len(self.epochs) - 1, i + step))
        self._scrub_to_index(i)

    def action_scrub_to(self, i: int) -> None:
        if self.epochs:
            self._scrub_to_index(i % len(self.epochs))

    def _scrub_to_index(self, i: int) -> None:
        self.epoch = self.epochs[i]
        self.follow = i == len(self.epochs) - 1
        self.draw_grids()
        self.draw_title()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab


def run_compare(runs: list[RunDir], image_mode: str = "auto") -> None:
    """Start the app; the image class is chosen first, since textual-image asks the terminal on import."""
    from diffdash.ui.widgets.sample_image import image_class

    CompareApp(runs, image_mode=image_mode, image_cls=image_class(image_mode)).run()
