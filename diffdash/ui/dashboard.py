"""The run dashboard: header, loss chart, sample grid, progress and events, for one run folder.

`DashboardApp` alone is `diffdash watch`: it polls the run folder (metrics.jsonl from a byte offset,
status.json, samples/) and never writes there. `TrainApp` (train_app.py) adds the engine in a worker
thread and feeds its events in directly. Drawing happens on a timer, only for parts marked dirty,
so however fast events come the screen redraws at most 5 times a second (the chart once).
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Footer, Static

from diffdash.store import DamagedConfig, RunDir
from diffdash.ui.panels import ProgressPanel, eval_text, header_text
from diffdash.ui.run_view import RunView
from diffdash.ui.screens import HelpScreen
from diffdash.ui.widgets.chart_keys import ChartApp
from diffdash.ui.widgets.event_line import EventLine
from diffdash.ui.widgets.loss_chart import LossChart
from diffdash.ui.widgets.sample_image import SampleImage, sixel_tmux_warning
from diffdash.ui.widgets.system_line import SystemLine, system_figures

DRAW_EVERY_S = 0.2
SYSTEM_EVERY_S = 2.0
CHART_EVERY_S = 1.0  # plotext builds dominate the UI thread: measured 7.6% of a core at 2/s vs 3.1% at 1/s
GENERATED = "generated"


class DashboardApp(ChartApp):
    CSS_PATH = str(Path(__file__).with_name("dashboard.tcss"))  # absolute: subclasses live in other modules
    TITLE = "diffdash"
    COMMAND_PALETTE_DISPLAY = "^p"
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "interrupt", "quit", show=False, priority=True),
        # training keys: shown by TrainApp; in watch they only say that they are not available here
        Binding("x", "stop_training", "stop", show=False, tooltip="Stop training (checkpoint, run marked stopped)"),
        Binding("p", "pause", "pause", show=False, tooltip="Pause / resume training"),
        Binding("s", "sample_now", "sample", show=False, tooltip="Sample a preview grid now"),
        Binding("c", "checkpoint_now", "ckpt", show=False, tooltip="Checkpoint now"),
        Binding("left", "grid(-1)", "older", key_display="←", tooltip="Older sample grid"),
        Binding("right", "grid(1)", "newer", key_display="→", tooltip="Newer sample grid"),
        Binding("end", "grid_latest", "newest", show=False, tooltip="Newest sample grid (follow)"),
        Binding("v", "cycle_variant", "kind", tooltip="Cycle grid kinds (generated, reconstructions ...)"),
        Binding("f", "maximize_grid", "big grid", tooltip="Sample grid: maximize / restore"),
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
        self.view = RunView(run_id=run.id)
        self.config: dict[str, Any] = dict(config or {})
        self.status: dict[str, Any] = {}
        self.offset = 0
        self.dirty: set[str] = {"header", "chart", "samples", "progress", "evals"}
        self._last_chart = 0.0
        self.variant = GENERATED
        self.grids: list[tuple[int, Path]] = []
        self.grid_index: int | None = None  # None: follow the newest grid
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
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._read_config()
        self.read_folder()
        self.set_interval(DRAW_EVERY_S, self.draw)
        if self.mode == "watch":
            self.set_interval(self.poll_s, self.read_folder)
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
        pid = self.status.get("pid") if self.mode == "watch" else os.getpid()
        same_host = self.mode != "watch" or self.status.get("host") in (None, socket.gethostname())
        self.query_one(SystemLine).update_figures(
            system_figures(pid if same_host else None, cuda=self.mode != "watch" and self.on_cuda())
        )

    def on_cuda(self) -> bool:
        return str(self.config.get("resolved_device", "")).startswith("cuda")

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

    def read_folder(self) -> None:
        """New events from metrics.jsonl (from the last offset), the status and the grid list."""
        try:
            self.query_one(EventLine)
        except NoMatches:  # a poll that fires while the app closes: its widgets are gone, nothing to draw
            return
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
        phase = status.get("phase") if status.get("state") == "running" else None
        if phase != self.view.meter.phase and (phase or self.view.meter.phase):
            self.view.meter.phase = phase  # progress events are not in metrics.jsonl: the status has the phase
            self.dirty.add("progress")

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
        if self.mode == "watch" and self.status:
            state = self.status.get("state", self.view.state)
            return "paused" if state == "running" and self.status.get("paused") else state
        return self.view.state

    # ---------------------------------------------------------------- drawing
    def draw(self, force: bool = False) -> None:
        dirty, now = self.dirty, time.monotonic()
        if self.state() == "running":
            dirty.add("progress")  # the clock ticks through validation and previews too
        if not dirty:
            return
        self.redraws += 1
        if "header" in dirty or "state" in dirty:
            header = header_text(self.run_dir.id, self.config, self.state(), self.mode)
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
            self.grids = grids  # oldest first, as the run folder orders them
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

    # ---------------------------------------------------------------- keys (the chart's come from ChartApp)
    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_maximize_grid(self) -> None:
        """Textual's maximize: the grid alone on the screen (f again or escape restores)."""
        if self.screen.maximized is not None:
            self.screen.minimize()
        else:
            self.screen.maximize(self.query_one(SampleImage), container=False)

    async def action_interrupt(self) -> None:
        """Ctrl-C: what the README says; in watch it just quits (the run goes on elsewhere)."""
        self.exit()

    # ---------------------------------------------------------------- training keys (TrainApp does them)
    def action_stop_training(self) -> None:
        self.read_only("x (stop)")

    def action_pause(self) -> None:
        self.read_only("p (pause)")

    def action_sample_now(self) -> None:
        self.read_only("s (sample now)")

    def action_checkpoint_now(self) -> None:
        self.read_only("c (checkpoint)")

    def read_only(self, key: str) -> None:
        self.notify(
            f"{key} is not available in watch: it is read-only. The process that trains this run "
            "(diffdash new / resume) has these keys.",
            title="read-only",
            severity="warning",
            timeout=4,
        )
