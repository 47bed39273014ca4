"""The run dashboard: header, loss chart, sample grid, progress and events, for one run folder.

`DashboardApp` alone is `diffdash watch`: it polls the run folder (metrics.jsonl from a byte offset,
status.json, samples/) and never writes there. `TrainApp` (train_app.py) adds the engine in a worker
thread and feeds its events in directly. Drawing happens on a timer, only for parts marked dirty,
so however fast events come the screen redraws at most 5 times a second (the chart once).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Footer, Static

from diffdash.store import RunDir
from diffdash.ui.panels import ProgressPanel, eval_text, header_text
from diffdash.ui.run_view import RunView
from diffdash.ui.screens import HelpScreen
from diffdash.ui.widgets.event_line import EventLine
from diffdash.ui.widgets.loss_chart import LossChart
from diffdash.ui.widgets.sample_image import SampleImage
from diffdash.ui.widgets.series import AXES

DRAW_EVERY_S = 0.2
CHART_EVERY_S = 1.0  # plotext builds dominate the UI thread: measured 7.6% of a core at 2/s vs 3.1% at 1/s
GENERATED = "generated"


def grid_order(item: tuple[int, Path]) -> tuple[int, int]:
    """Epoch, then a mid-epoch grid (epoch_0003_step_000812) before that epoch's final grid."""
    epoch, path = item
    step = path.stem.rsplit("_", 1)[1] if "_step_" in path.stem else ""
    return epoch, int(step) if step.isdigit() else 1 << 62


class DashboardApp(App):
    CSS_PATH = str(Path(__file__).with_name("dashboard.tcss"))  # absolute: subclasses live in other modules
    TITLE = "diffdash"
    ENABLE_COMMAND_PALETTE = False  # every action has a key; the palette's footer slot is better spent on them
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("x", "stop_training", "stop"),
        Binding("p", "pause", "pause"),
        Binding("s", "sample_now", "sample"),
        Binding("c", "checkpoint_now", "ckpt"),
        Binding("l", "toggle_log", "log"),
        Binding("m", "toggle_smooth", "ema"),
        Binding("a", "cycle_axis", "x-axis", show=False),
        Binding("left", "grid(-1)", "older", key_display="←"),
        Binding("right", "grid(1)", "newer", key_display="→"),
        Binding("end", "grid_latest", "newest", show=False),
        Binding("v", "cycle_variant", "kind"),
        Binding("question_mark", "help", "help", key_display="?"),
    ]
    TRAINING_ACTIONS = ("stop_training", "pause", "sample_now", "checkpoint_now")

    def __init__(
        self,
        run: RunDir,
        *,
        image_mode: str = "auto",
        image_cls: type[Widget] | None = None,
        poll_s: float = 0.5,
        config: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.run_dir = run
        self.mode = "watch"
        self.image_mode = image_mode
        self.image_cls = image_cls
        self.poll_s = poll_s
        self.view = RunView()
        self.config: dict[str, Any] = dict(config or {})
        self.status: dict[str, Any] = {}
        self.offset = 0
        self.dirty: set[str] = {"header", "chart", "samples", "progress", "evals"}
        self._last_chart = 0.0
        self.variant = GENERATED
        self.grids: list[tuple[int, Path]] = []
        self.grid_index: int | None = None  # None: follow the newest grid
        self.redraws = 0

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Static(id="header")
        with Horizontal(id="body"):
            yield LossChart("loss", id="chart", empty_text="waiting for the first steps")
            with Vertical(id="side"):
                yield SampleImage(self.image_mode, image_cls=self.image_cls, id="grid")
                yield Static(id="evals")
        yield ProgressPanel(id="progress")
        yield EventLine(id="events")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._read_config()
        self.read_folder()
        self.set_interval(DRAW_EVERY_S, self.draw)
        if self.mode == "watch":
            self.set_interval(self.poll_s, self.read_folder)
        self.draw(force=True)

    def on_resize(self, event) -> None:
        self.screen.set_class(event.size.width < 100, "narrow")

    # ---------------------------------------------------------------- reading the run folder
    def _read_config(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.config = {**self.config, **self.run_dir.read_config()}
        self.dirty.add("header")

    def read_folder(self) -> None:
        """New events from metrics.jsonl (from the last offset), the status and the grid list."""
        events, self.offset = self.run_dir.read_events(self.offset)
        self.apply_events(events)
        if self.mode == "watch":
            self._read_status()
            self.dirty.add("samples")

    def _read_status(self) -> None:
        try:
            status = self.run_dir.read_status()
        except (OSError, ValueError):
            return
        if status != self.status:
            self.status = status
            self.dirty |= {"header", "progress"}

    def apply_events(self, events: list[dict[str, Any]]) -> None:
        events_line = self.query_one(EventLine)
        for e in events:
            changed = self.view.apply(e)
            if e.get("event") in ("start", "resumed"):
                self._read_config()
            if "notice" in changed:
                events_line.push_event(e)
            self.dirty |= changed

    def state(self) -> str:
        if self.mode == "watch" and self.status:
            state = self.status.get("state", self.view.state)
            return "paused" if state == "running" and self.status.get("paused") else state
        return self.view.state

    # ---------------------------------------------------------------- drawing
    def draw(self, force: bool = False) -> None:
        dirty, now = self.dirty, time.monotonic()
        if not dirty:
            return
        self.redraws += 1
        if "header" in dirty or "state" in dirty:
            self.query_one("#header", Static).update(header_text(self.run_dir.id, self.config, self.state(), self.mode))
        if "progress" in dirty:
            self.query_one(ProgressPanel).set_figures(self.view.progress(running=self.state() == "running"))
        if "samples" in dirty:
            self.show_grid()
        if "evals" in dirty:
            evals = self.query_one("#evals", Static)
            evals.display = bool(self.view.evals)
            evals.update(eval_text(self.view.evals))
        chart_due = force or now - self._last_chart >= CHART_EVERY_S or self.state() != "running"
        if "chart" in dirty and chart_due:
            self.query_one(LossChart).set_series(self.view.chart_series())
            self._last_chart = now
            dirty.discard("chart")
        self.dirty = dirty & {"chart"}

    # ---------------------------------------------------------------- sample grids
    def variants(self) -> list[str]:
        names = [GENERATED, *self.run_dir.sample_variants()]
        if (self.run_dir.samples_dir / "forward.png").is_file():
            names.append("forward")
        return names

    def show_grid(self) -> None:
        if self.variant == "forward":
            path = self.run_dir.samples_dir / "forward.png"
            self.grids = [(0, path)] if path.is_file() else []
        else:
            grids = self.run_dir.samples(None if self.variant == GENERATED else self.variant)
            self.grids = sorted(grids, key=grid_order)
        widget = self.query_one(SampleImage)
        if not self.grids:
            widget.show(None, f"{self.variant}: no grid yet")
            return
        if self.grid_index is not None:
            self.grid_index = min(self.grid_index, len(self.grids) - 1)
        i = len(self.grids) - 1 if self.grid_index is None else self.grid_index
        epoch, path = self.grids[i]
        where = f"epoch {epoch}"
        if "_step_" in path.stem:
            where += f" step {int(path.stem.rsplit('_', 1)[1])}"
        if self.variant == "forward":
            where = "forward process"
        follow = "" if self.grid_index is None else "  (end: newest)"
        widget.show(path, f"{self.variant} · {where} · {i + 1}/{len(self.grids)}{follow}")

    def action_grid(self, delta: int) -> None:
        if not self.grids:
            return
        i = len(self.grids) - 1 if self.grid_index is None else self.grid_index
        i = min(max(i + delta, 0), len(self.grids) - 1)
        self.grid_index = None if i == len(self.grids) - 1 and delta > 0 else i
        self.show_grid()

    def action_grid_latest(self) -> None:
        self.grid_index = None
        self.show_grid()

    def action_cycle_variant(self) -> None:
        names = self.variants()
        self.variant = names[(names.index(self.variant) + 1) % len(names)] if self.variant in names else GENERATED
        self.grid_index = None
        self.show_grid()

    # ---------------------------------------------------------------- chart keys
    def action_toggle_log(self) -> None:
        chart = self.query_one(LossChart)
        chart.log_scale = not chart.log_scale

    def action_toggle_smooth(self) -> None:
        chart = self.query_one(LossChart)
        chart.smoothing = not chart.smoothing

    def action_cycle_axis(self) -> None:
        chart = self.query_one(LossChart)
        chart.x_axis = AXES[(AXES.index(chart.x_axis) + 1) % len(AXES)] if chart.x_axis in AXES else AXES[0]

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    # ---------------------------------------------------------------- training keys (TrainApp)
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # watch is read-only: the training keys are hidden from the footer and ignored
        return not (action in self.TRAINING_ACTIONS and self.mode == "watch")
