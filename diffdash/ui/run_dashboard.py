"""The run dashboard both `watch` and training use: header, loss chart, sample grid, progress and events.

`RunDashboard` draws one run folder's events; where they come from is its subclasses' business:
`DashboardApp` (dashboard.py, `diffdash watch`) polls the folder, `TrainApp` (train_app.py) gets them
from the engine in a worker thread. Run events arrive at any rate, so they only mark parts dirty and a
timer draws those at most 5 times a second (the chart once). What a person switches (the grid kind,
the grid browsed, the chart's view) are reactives whose watchers redraw at once.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from diffdash.store import DamagedConfig, RunDir
from diffdash.ui.panels import ProgressPanel, eval_text, header_text
from diffdash.ui.run_view import RunView
from diffdash.ui.screens import HelpScreen
from diffdash.ui.widgets.chart_keys import CHART_ACTIONS, ChartApp
from diffdash.ui.widgets.event_line import EventLine
from diffdash.ui.widgets.fitting_footer import FittingFooter
from diffdash.ui.widgets.loss_chart import LossChart
from diffdash.ui.widgets.sample_image import SampleImage, sixel_tmux_warning
from diffdash.ui.widgets.system_line import SystemLine, system_figures

DRAW_EVERY_S = 0.2
SYSTEM_EVERY_S = 2.0
CHART_EVERY_S = 1.0  # plotext builds dominate the UI thread: measured 7.6% of a core at 2/s vs 3.1% at 1/s
GENERATED = "generated"

# The footer lists keys in the order the app declares them: each app puts its own keys (training's, or
# watch's read-only notices) between these two, so the keys that matter most come before the browsing ones.
QUIT_KEYS = [
    Binding("q", "quit", "quit"),
    Binding("ctrl+c", "interrupt", "quit", show=False, priority=True),
]
VIEW_KEYS = [
    Binding("left", "grid(-1)", "older", key_display="←", tooltip="Older sample grid"),
    Binding("right", "grid(1)", "newer", key_display="→", tooltip="Newer sample grid"),
    Binding("end", "grid_latest", "newest", show=False, tooltip="Newest sample grid (follow)"),
    Binding("v", "cycle_variant", "kind", tooltip="Cycle grid kinds (generated, reconstructions ...)"),
    Binding("f", "maximize_grid", "big grid", tooltip="Sample grid: maximize / restore"),
    Binding("e", "event_log", "events", show=False, tooltip="Event log: every event of metrics.jsonl"),
    Binding("question_mark", "help", "help", key_display="?"),
]


class RunDashboard(ChartApp):
    """One run on screen: the chart keys come from ChartApp; subclasses bind QUIT_KEYS, their own, VIEW_KEYS."""

    CSS_PATH = str(Path(__file__).with_name("dashboard.tcss"))  # absolute: subclasses live in other modules
    TITLE = "diffdash"
    COMMAND_PALETTE_DISPLAY = "^p"
    READ_ONLY: ClassVar[bool] = False  # the header says "read-only" when the app never writes to the run

    variant: reactive[str] = reactive(GENERATED, init=False)  # the kind of grid shown (`v`)
    grid_index: reactive[int | None] = reactive(None, init=False)  # the grid browsed (← →); None: the newest

    def __init__(
        self,
        run: RunDir,
        *,
        image_mode: str = "auto",
        image_cls: type[Widget] | None = None,
        config: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.run_dir = run
        self.image_mode = image_mode
        self.image_cls = image_cls
        self.view = RunView(run_id=run.id)
        self.config: dict[str, Any] = dict(config or {})
        self.offset = 0
        self.dirty: set[str] = {"header", "chart", "samples", "progress", "evals"}
        self._last_chart = 0.0
        self.grids: list[tuple[int, Path]] = []
        self.redraws = 0
        self.config_damage: str | None = None  # config.json's problem, shown in the header

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Static(id="header")
        with Horizontal(id="body"):
            yield LossChart("loss", id="chart", empty_text="waiting for the first steps")
            with Vertical(id="side"):
                yield SampleImage(self.image_mode, image_cls=self.image_cls, id="grid")
                yield Static(id="evals")
                yield SystemLine(id="system")
        yield ProgressPanel(id="progress")
        yield EventLine(id="events")
        yield FittingFooter(drop_first=CHART_ACTIONS)  # whole keys only, the app's own kept longest

    def on_mount(self) -> None:
        self._read_config()
        self.read_folder()
        self.set_interval(DRAW_EVERY_S, self.draw)
        self.set_interval(SYSTEM_EVERY_S, self.read_system)
        self.read_system()
        warning = sixel_tmux_warning(self.image_mode)
        if warning:
            self.query_one(EventLine).push(f"[yellow]{warning}[/]")
        self.draw(force=True)

    def on_resize(self, event) -> None:
        self.screen.set_class(event.size.width < 100, "narrow")
        self.fit_side(event.size.width, event.size.height)

    def fit_side(self, width: int, height: int) -> None:
        """The grid is square (w cells by w/2 rows): give the side panel the width its height allows."""
        body_h = max(height - 5, 4)  # header, progress (2), events, footer
        grid_rows = body_h - 1 - (3 if self.view.evals else 0) - 1  # caption, evals, system line
        side = min(max(2 * grid_rows, 28), int(width * 0.6))
        self.query_one("#side").styles.width = side

    def read_system(self) -> None:
        pid, cuda = self.process_shown()
        self.query_one(SystemLine).update_figures(system_figures(pid, cuda=cuda))

    def process_shown(self) -> tuple[int | None, bool]:
        """(pid whose CPU and memory the system line shows, whether to add CUDA): here, this process."""
        return os.getpid(), str(self.config.get("resolved_device", "")).startswith("cuda")

    # ---------------------------------------------------------------- reading the run folder
    def _read_config(self) -> None:
        try:
            self.config = {**self.config, **self.run_dir.read_config()}
            self.config_damage = None
        except DamagedConfig as exc:  # drawn as damaged, never as the wrong values it holds
            self.config_damage = str(exc)
        except (OSError, ValueError):
            pass
        self.view.meter.use_config(self.config)
        self.dirty |= {"header", "progress"}

    def read_folder(self) -> bool:
        """New events from metrics.jsonl (from the last offset); False once the app is closing."""
        try:
            self.query_one(EventLine)
        except NoMatches:  # a poll that fires while the app closes: its widgets are gone, nothing to draw
            return False
        events, self.offset = self.run_dir.read_events(self.offset)
        self.apply_events(events)
        return True

    def apply_events(self, events: list[dict[str, Any]]) -> None:
        events_line = self.query_one(EventLine)
        now = time.monotonic()
        for e in events:
            changed = self.view.apply(e, now)
            if e.get("event") in ("start", "resumed"):
                self._read_config()
            if "notice" in changed:
                events_line.push_event(e, self.run_dir.id)
            self.dirty |= changed

    def state(self) -> str:
        return self.view.state

    # ---------------------------------------------------------------- drawing
    def draw(self, force: bool = False) -> None:
        with contextlib.suppress(NoMatches):  # a tick that fires while the app closes finds its widgets gone
            self._draw(force)

    def _draw(self, force: bool) -> None:
        dirty, now = self.dirty, time.monotonic()
        if self.state() == "running":
            dirty.add("progress")  # the clock ticks through validation and previews too
        if not dirty:
            return
        self.redraws += 1
        if "header" in dirty or "state" in dirty:
            header = header_text(self.run_dir.id, self.config, self.state(), read_only=self.READ_ONLY)
            if self.config_damage:
                header.append(f"\ndamaged config.json: {self.config_damage}", style="bold red")
            self.query_one("#header", Static).update(header)
        if "progress" in dirty:
            figures = self.view.progress(running=self.state() == "running", now=now)
            self.query_one(ProgressPanel).set_figures(figures)
        if "samples" in dirty:
            self.show_grid()
        if "evals" in dirty:
            evals = self.query_one("#evals", Static)
            evals.display = bool(self.view.evals)
            evals.update(eval_text(self.view.evals))
        chart_due = force or now - self._last_chart >= CHART_EVERY_S or self.state() != "running"
        if "chart" in dirty and chart_due:
            self.query_one(LossChart).set_series(self.view.chart_series(self.chart_view))
            self._last_chart = now
            dirty.discard("chart")
        self.dirty = dirty & {"chart"}

    def chart_series_changed(self) -> None:
        """`g`: the chart shows another view, drawn now."""
        self.query_one(LossChart).set_series(self.view.chart_series(self.chart_view))

    # ---------------------------------------------------------------- sample grids
    def variants(self) -> list[str]:
        names = [GENERATED, *self.run_dir.sample_variants()]
        if (self.run_dir.samples_dir / "forward.png").is_file():
            names.append("forward")
        return names

    def watch_variant(self) -> None:
        self.show_grid()

    def watch_grid_index(self) -> None:
        self.show_grid()

    def show_grid(self) -> None:
        if self.variant == "forward":
            path = self.run_dir.samples_dir / "forward.png"
            self.grids = [(0, path)] if path.is_file() else []
        else:
            self.grids = self.run_dir.samples(None if self.variant == GENERATED else self.variant)  # oldest first
        widget = self.query_one(SampleImage)
        if not self.grids:
            widget.show(None, f"{self.variant}: no grid yet")
            return
        i = self.grid_shown()
        epoch, path = self.grids[i]
        where = f"epoch {epoch}"
        if "_step_" in path.stem:
            where += f" step {int(path.stem.rsplit('_', 1)[1])}"
        if self.variant == "forward":
            where = "forward process"
        follow = "" if self.grid_index is None else "  (end: newest)"
        widget.show(path, f"{self.variant} · {where} · {i + 1}/{len(self.grids)}{follow}")

    def grid_shown(self) -> int:
        """The index into `grids` on screen: the one browsed to, or the newest while following."""
        newest = len(self.grids) - 1
        return newest if self.grid_index is None else min(self.grid_index, newest)

    def action_grid(self, delta: int) -> None:
        if not self.grids:
            return
        i = min(max(self.grid_shown() + delta, 0), len(self.grids) - 1)
        self.grid_index = None if i == len(self.grids) - 1 and delta > 0 else i

    def action_grid_latest(self) -> None:
        self.grid_index = None

    def action_cycle_variant(self) -> None:
        names = self.variants()
        self.set_reactive(RunDashboard.grid_index, None)  # a new kind starts at its newest grid
        before = self.variant
        self.variant = names[(names.index(before) + 1) % len(names)] if before in names else GENERATED
        if self.variant == before:  # one kind only: the watcher did not run
            self.show_grid()

    # ---------------------------------------------------------------- keys (the chart's come from ChartApp)
    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_event_log(self) -> None:
        from diffdash.ui.event_log import EventLogScreen

        self.push_screen(EventLogScreen(self.run_dir))

    def action_maximize_grid(self) -> None:
        """Textual's maximize: the grid alone on the screen (f again or escape restores)."""
        if self.screen.maximized is not None:
            self.screen.minimize()
        else:
            self.screen.maximize(self.query_one(SampleImage), container=False)

    async def action_interrupt(self) -> None:
        """Ctrl-C with nothing to stop: leave."""
        self.exit()
