"""`diffdash compare`: several runs on one screen, read from their folders and refreshed while they train.

Curves tab: every run's train (each step) and validation loss overlaid in the run's own colour, the summary
table and the config differences, in one column that scrolls when the terminal is short. Samples tab: the
runs' preview grids side by side at one epoch, one scrubber (← / →) moving all of them. The chart keys are
the dashboard's (ChartApp); `h` hides/shows runs, `/` filters them by name or tag. Runs are polled once a
second and redrawn when they changed; what a person switches (the scrubbed epoch, the hidden runs, the
filter and its box) are reactives whose watchers redraw what depends on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Input, Static, TabbedContent, TabPane

from diffdash.compare.shared import val_set_warning
from diffdash.options.run_kinds import loss_kinds_warning
from diffdash.store import RunDir
from diffdash.ui.compare_data import CompareRun, chart_series, scrub_epochs
from diffdash.ui.compare_groups import group_names, group_series, groups_text
from diffdash.ui.compare_panels import ConfigDiffTable, GridRow, RunPicker, SummaryTable, run_text
from diffdash.ui.compare_view import put_back, view_state
from diffdash.ui.widgets.chart_keys import CHART_ACTIONS, ChartApp
from diffdash.ui.widgets.fitting_footer import FittingFooter
from diffdash.ui.widgets.loss_chart import LossChart

POLL_S = 1.0
CHART_MIN_HEIGHT = 12


class FilterInput(Input):
    """`/`: type words of a run's name or tags; enter keeps the filter, escape clears it."""

    BINDINGS = [Binding("escape", "clear_filter", "clear", show=False)]

    class Cleared(Message):
        """escape: the filter is emptied and the box closes."""

    def action_clear_filter(self) -> None:
        self.value = ""
        self.post_message(self.Cleared())


class CompareApp(ChartApp):
    """Several runs side by side; the chart keys are ChartApp's, the run and grid keys are declared here."""

    CSS_PATH = "compare.tcss"
    TITLE = "diffdash compare"
    AUTO_FOCUS = "#curves-body"  # ↑/↓ scroll the curves, tables and diff when the terminal is short
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("h", "pick_runs", "hide/show"),
        Binding("slash", "filter", "filter", key_display="/"),
        Binding("left", "scrub(-1)", "epoch ←", key_display="←", priority=True, show=False),
        Binding("right", "scrub(1)", "epoch →", key_display="→", priority=True, show=False),
        Binding("home", "scrub_to(0)", "first", show=False, priority=True),
        Binding("end", "scrub_to(-1)", "last", show=False, priority=True),
        Binding("1", "tab('curves')", "curves", show=False),
        Binding("2", "tab('samples')", "samples", show=False),
    ]

    epoch: reactive[int | None] = reactive(None, init=False)  # the scrubber; None until some run has a grid
    hidden_runs: reactive[frozenset[int]] = reactive(frozenset(), init=False)  # `h`: run indices hidden by hand
    query_text: reactive[str] = reactive("", init=False)  # `/`: words a shown run's name or tags must match
    filtering: reactive[bool] = reactive(False, init=False)  # the filter box is open and has the keys

    def __init__(
        self,
        runs: list[RunDir],
        *,
        image_mode: str = "auto",
        image_cls: type[Widget] | None = None,
        poll_s: float = POLL_S,
        state: dict | None = None,
        group_by: str | None = None,
        band: str = "std",
    ):
        super().__init__()
        self.restore = state  # the view as it was left for "open run" (view_state), put back on mount
        self.poll_s = poll_s
        self.runs = [CompareRun(run, i) for i, run in enumerate(runs)]
        self.group_by, self.band = group_by, band  # --group-by: each group's mean with a band (compare_groups)
        self.group_of = group_names(self.runs, group_by) if group_by else []
        self.image_mode = image_mode
        self.image_cls = image_cls
        self.epochs: list[int] = []
        self.follow = True  # keep the scrubber on the newest epoch while runs add grids
        self.opened: RunDir | None = None  # "open run" from the palette: the caller shows its dashboard
        self.filter_box = FilterInput(placeholder="runs by name or tag (enter: keep, escape: clear)", id="filter")

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="warning")
        with TabbedContent(initial="curves"):
            with TabPane("Curves [1]", id="curves"), VerticalScroll(id="curves-body"):
                yield LossChart("loss", id="chart")
                yield SummaryTable(id="summary")
                yield Static(id="groups")
                yield ConfigDiffTable(id="diff")
            with TabPane("Samples [2] ←/→", id="samples"), Vertical():
                yield GridRow(self.runs, self.image_mode, self.image_cls, id="grids")
                yield Static(id="scrubber")
        yield self.filter_box
        yield FittingFooter(drop_first=CHART_ACTIONS)  # whole keys only, the app's own kept longest

    def on_mount(self) -> None:
        for table in self.query("DataTable"):
            table.can_focus = False
        self.refresh_runs(force=True)
        self.set_interval(self.poll_s, self.refresh_runs)
        if self.restore:
            self.call_after_refresh(put_back, self, self.restore)  # once the tabs have settled

    # ---------------------------------------------------------------- data
    def refresh_runs(self, force: bool = False) -> None:
        changed = [r.poll() for r in self.runs]
        if force or any(changed):
            self.runs_changed()

    def runs_changed(self) -> None:
        """Redraw everything that depends on the runs or on which of them are shown."""
        shown = [r for r in self.runs if r.shown]
        self.chart.set_series(self.chart_lines())
        groups = self.query_one("#groups", Static)
        groups.display = bool(self.group_by)
        if self.group_by:
            groups.update(groups_text(self.runs, self.group_of, self.group_by, self.band))
        self.query_one(SummaryTable).update_runs(self.runs)
        self.query_one(ConfigDiffTable).update_runs(self.runs)
        labels, configs = [r.label for r in shown], [r.config for r in shown]
        warnings = [w for w in (loss_kinds_warning(labels, configs), val_set_warning(labels, configs)) if w]
        box = self.query_one("#warning", Static)
        box.display = bool(warnings)
        box.update(Text("\n".join("⚠ " + w for w in warnings), style="bold yellow"))
        epochs = scrub_epochs(self.runs)
        if epochs != self.epochs:
            self.epochs = epochs
            if epochs and (self.follow or self.epoch not in epochs):
                self.set_reactive(CompareApp.epoch, epochs[-1])  # drawn just below with everything else
        if not epochs:
            self.set_reactive(CompareApp.epoch, None)
        self.draw_grids()
        self.draw_title()
        self.call_after_refresh(self.fit_chart)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit_chart)

    def fit_chart(self) -> None:
        """The chart takes the curves tab's height less the summary's rows (its header, a row per shown run
        and a scrollbar), so a short terminal gets the tallest chart that still shows the summary below it."""
        height = self.query_one("#curves-body").size.height
        if height:
            rows = 2 + sum(r.shown for r in self.runs)
            self.chart.styles.height = max(CHART_MIN_HEIGHT, height - rows)

    def chart_series_changed(self) -> None:
        """`g`: the chart shows another view of every shown run."""
        self.chart.set_series(self.chart_lines())

    def chart_lines(self) -> list:
        """The loss of each run, or with --group-by each group's mean and band; the other views per run."""
        if self.group_by and self.chart_view == "loss":
            return group_series(self.runs, self.group_of, self.group_by, self.band)
        return chart_series(self.runs, self.chart_view)

    def watch_epoch(self) -> None:
        self.draw_grids()
        self.draw_title()

    def watch_hidden_runs(self, hidden: frozenset[int]) -> None:
        for r in self.runs:
            r.hidden = r.index in hidden
        self.runs_changed()

    def watch_query_text(self, text: str) -> None:
        for r in self.runs:
            r.filtered = bool(text) and not r.matches(text)
        self.runs_changed()

    def watch_filtering(self, filtering: bool) -> None:
        """Open: the box shows and takes the keys. Closed: the title keeps saying "filter: ..."."""
        self.filter_box.display = filtering
        if filtering:
            self.filter_box.focus()
        else:
            self.set_focus(self.query_one("#curves-body"))

    def draw_grids(self) -> None:
        self.query_one(GridRow).show_epoch(self.epoch)
        if self.epoch is None:
            text = "no preview grids yet"
        else:
            i = self.epochs.index(self.epoch) if self.epoch in self.epochs else 0
            marks = "".join("●" if k == i else "·" for k in range(len(self.epochs))) if len(self.epochs) <= 60 else ""
            text = f"epoch {self.epoch}  ({i + 1}/{len(self.epochs)})  ←/→ move all grids  {marks}"
        self.query_one("#scrubber", Static).update(text)

    def draw_title(self) -> None:
        title = Text()
        for r in self.runs:
            if r.shown:
                title += run_text(r)
                title += Text("   ")
        hidden = sum(not r.shown for r in self.runs)
        if hidden:
            title.append(f"({hidden} of {len(self.runs)} hidden: h)  ", style="dim")
        if self.query_text:
            title.append(f"filter: {self.query_text}  ", style="italic")
        live = sum(r.live for r in self.runs)
        if live:
            title.append(f"{live} live  ")
        if self.epoch is not None:
            title.append(f"grids at epoch {self.epoch}")
        self.query_one("#title", Static).update(title)

    # ---------------------------------------------------------------- keys
    def action_pick_runs(self) -> None:
        self.push_screen(RunPicker(self.runs))

    def on_run_picker_picked(self, message: RunPicker.Picked) -> None:
        self.hidden_runs = message.hidden

    def action_filter(self) -> None:
        self.filtering = True

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is self.filter_box:  # the palette's own input bubbles up here too
            self.query_text = event.value.strip()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input is self.filter_box:
            self.close_filter()

    def on_filter_input_cleared(self, _message: FilterInput.Cleared) -> None:
        self.close_filter()

    def close_filter(self) -> None:
        self.filtering = False

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
        self.follow = i == len(self.epochs) - 1
        self.epoch = self.epochs[i]

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Focus follows the tab: a focused curves body under the samples tab would pull the curves tab back
        whenever the screen gets its focus again (closing the palette, coming back from a dashboard)."""
        if not self.screen_stack:  # the app is closing
            return
        samples = event.pane.id == "samples"
        self.AUTO_FOCUS = None if samples else type(self).AUTO_FOCUS  # what a screen focuses when it comes back
        if samples:
            self.set_focus(None)
            self.call_after_refresh(lambda: [image.refit() for image in self.query_one(GridRow).images])
        elif not self.filtering:
            self.set_focus(self.query_one("#curves-body"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # while the filter box has the keys, letters are text, not commands
        return not (self.filter_box.has_focus and action not in ("scrub", "scrub_to", "quit"))

    # ---------------------------------------------------------------- palette
    def extra_commands(self) -> Iterable[tuple[str, Callable[[], object], str]]:
        for r in self.runs:
            yield f"Open run {r.label} in the dashboard", partial(self.open_run, r.run), "leaves compare; q comes back"
            verb = "Show" if r.hidden else "Hide"
            yield f"{verb} run {r.label}", partial(self.toggle_run, r), "on the chart, tables and grids"

    def toggle_run(self, r: CompareRun) -> None:
        self.hidden_runs = self.hidden_runs ^ {r.index}

    def open_run(self, run: RunDir) -> None:
        self.opened = run
        self.saved = view_state(self)  # `q` in the run's dashboard comes back to this view
        self.exit()


def run_compare(runs: list[RunDir], image_mode: str = "auto", group_by: str | None = None, band: str = "std") -> None:
    """Start the app; the image class is chosen first, since textual-image asks the terminal on import.

    "Open run" in the palette leaves compare for that run's dashboard; quitting it comes back here.
    """
    from diffdash.ui.dashboard import DashboardApp
    from diffdash.ui.widgets.sample_image import image_class

    image_cls = image_class(image_mode)
    state = None
    while True:
        app = CompareApp(runs, image_mode=image_mode, image_cls=image_cls, state=state, group_by=group_by, band=band)
        app.run()
        if app.opened is None:
            return
        state = app.saved
        DashboardApp(app.opened, image_mode=image_mode, image_cls=image_cls).run()
