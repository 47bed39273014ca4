"""The study board: one row per run of a study (state, epochs, validation loss and its sparkline, FID, time)
and the study's ETA, read from the run folders once a second while the runner trains them in other processes.

Enter opens the run's dashboard and `c` compares the selected runs. Those are the existing apps: the board
exits with what to open, `run_board` runs that app, and the board comes back when it closes. The runner
lives in a thread of the command, not of the app, so it keeps going while another app is on screen.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import DataTable, Footer, Static

from diffdash.formats import STATE_COLOURS, format_loss, format_seconds
from diffdash.study.spec import Member, Study
from diffdash.study.status import Row, StudyProgress, sparkline, study_eta
from diffdash.ui.screens import ConfirmScreen

COLUMNS = ("", "run", "model", "state", "epochs", "last val", "best val @ep", "val loss", "FID (MNIST clf)", "time")
STATE_STYLE = {**STATE_COLOURS, "changed": "red", "pending": "dim", "starting": "cyan"}
BAR = 10


def progress_cell(r: Row) -> str:
    filled = min(BAR, round(BAR * r.fraction))
    within = r.fraction * r.epochs - r.epoch if r.state == "running" else 0.0
    extra = f" +{within:.0%}" if 0.005 < within < 1 else ""
    return f"{'█' * filled}{'░' * (BAR - filled)} {r.epoch}/{r.epochs}{extra}"


def row_cells(r: Row, selected: bool) -> list[str]:
    state = "changed" if r.changed else r.state
    style = STATE_STYLE.get(state, "white")
    best = f"{format_loss(r.best_val)} @{r.best_epoch}" if r.best_val is not None else "-"
    fid = f"{r.fid:.2f} @{r.fid_epoch}" if r.fid is not None else "-"
    return [
        "●" if selected else " ",
        r.member,
        r.model,
        f"[{style}]{state}[/]",
        progress_cell(r),
        format_loss(r.last_val),
        best,
        sparkline(r.val),
        fid,
        format_seconds(r.seconds),
    ]


class RunTable(DataTable):
    """The runs, one a row; Enter (shown in the footer) opens the run under the cursor."""

    BINDINGS = [Binding("enter", "select_cursor", "dashboard")]


class StudyBoard(App):
    CSS_PATH = str(Path(__file__).with_name("study.tcss"))
    TITLE = "diffdash study"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("space", "select", "select"),
        Binding("c", "compare", "compare selected"),
        Binding("d", "detach", "leave running"),
        Binding("q", "quit", "quit"),
    ]

    selected: reactive[frozenset[str]] = reactive(frozenset(), init=False)  # space: members to compare

    def __init__(
        self,
        study: Study,
        root: Path,
        members: list[Member] | None = None,
        *,
        runner: Any = None,
        lines: list[str] | None = None,
        parallel: int = 1,
        poll_s: float = 1.0,
        selected: set[str] | frozenset[str] | None = None,
    ):
        super().__init__()
        self.study = study
        self.root = Path(root)
        self.progress = StudyProgress(study, root, members)
        self.runner = runner
        self.lines = lines if lines is not None else []
        self.parallel = runner.parallel if runner is not None else parallel
        self.poll_s = poll_s
        self.set_reactive(StudyBoard.selected, frozenset(selected or ()))
        self.rows: list[Row] = []

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield RunTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static(id="events")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self.cluster = getattr(self.runner, "executor", None) is not None  # Slurm or Ray: a "where" column
        for name in COLUMNS + ("where",) * self.cluster:
            table.add_column(name, key=name or "sel")
        for m in self.progress.members:
            table.add_row(*[""] * (len(COLUMNS) + self.cluster), key=m.name)
        self.refresh_rows()
        self.set_interval(self.poll_s, self.refresh_rows)
        table.focus()

    @property
    def active(self) -> bool:
        return self.runner is not None and self.runner.running

    def refresh_rows(self) -> None:
        self.rows = self.progress.poll()
        launched = {c.member.name for c in list(self.runner.active)} if self.runner is not None else set()
        table = self.query_one(DataTable)
        if self.cluster:  # the scheduler's state (pending, requeued, cancelled) and the job's host
            from diffdash.study.executors import join_rows

            join_rows(self.rows, self.study, self.root)
            launched = set()
        for r in self.rows:
            if self.cluster:
                table.update_cell(r.member, "where", r.where or "-", update_width=True)
            if r.state == "pending" and r.member in launched:
                r.state = "starting"  # its process is loading torch and the data: no folder yet
            for name, cell in zip(COLUMNS, row_cells(r, r.member in self.selected), strict=True):
                table.update_cell(r.member, name or "sel", cell, update_width=True)
        self.query_one("#title", Static).update(self.title_text())
        self.query_one("#events", Static).update("\n".join(self.lines[-3:]) or "[dim]no events yet[/]")

    def title_text(self) -> str:
        rows = self.rows
        done = sum(r.state == "finished" and r.epoch >= r.epochs for r in rows)
        live = sum(r.state in ("running", "starting") for r in rows)
        text = f"[b]study {self.study.name}[/b]  {done}/{len(rows)} finished"
        if live:
            text += f" · {live} running"
        if done < len(rows):
            text += f" · ETA {format_seconds(study_eta(rows, self.parallel), '?')} at {self.parallel} at a time"
        if self.runner is not None:
            text += "" if self.active else "  [dim](runner stopped)[/]"
        return text

    # ---------------------------------------------------------------- keys
    def current(self) -> Row | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        r = self.current()
        if r is None:
            return
        if not (self.root / r.run_id).is_dir():
            self.notify(f"{r.member} has not started yet", timeout=2)
            return
        self.exit(("watch", [r.run_id]))

    def action_select(self) -> None:
        r = self.current()
        if r is None:
            return
        self.selected ^= {r.member}

    def watch_selected(self, selected: frozenset[str]) -> None:
        table = self.query_one(DataTable)
        for r in self.rows:
            table.update_cell(r.member, "sel", "●" if r.member in selected else " ")

    def action_compare(self) -> None:
        chosen = [r for r in self.rows if r.member in self.selected and (self.root / r.run_id).is_dir()]
        if len(chosen) < 2:
            self.notify("select two or more started runs with space, then press c", timeout=3)
            return
        self.exit(("compare", [r.run_id for r in chosen]))

    async def action_quit(self) -> None:
        if not self.active:
            self.exit(("quit", []))
            return
        question = (
            "Stop the study?\nEach training run writes a checkpoint and stops; "
            f"`diffdash study run {self.study.path}` continues it."
        )
        self.push_screen(ConfirmScreen(question), lambda yes: self.exit(("quit", [])) if yes else None)

    def action_detach(self) -> None:
        if not self.active:
            self.notify("the runner is not running", timeout=2)
            return
        question = (
            "Leave the runs training on their own and quit?\nRuns not yet started wait; "
            f"`diffdash study run {self.study.path}` later starts them and follows the others."
        )
        self.push_screen(ConfirmScreen(question), lambda yes: self.exit(("detach", [])) if yes else None)


def run_board(runner: Any, lines: list[str], image_mode: str = "auto", board_cls: type | None = None) -> int:
    """The runner in a thread and the board on screen (with the dashboard or compare in between when asked)."""
    from diffdash.store import RunDir

    result: dict[str, int] = {}

    def work() -> None:
        try:
            result["rc"] = runner.run()
        except Exception as exc:  # noqa: BLE001 - shown on the board and printed at the end, not lost
            lines.append(f"the runner failed: {type(exc).__name__}: {exc}")
            result["rc"] = 1

    thread = threading.Thread(target=work, name="study-runner", daemon=True)
    thread.start()
    selected: frozenset[str] = frozenset()
    while True:
        board = (board_cls or StudyBoard)(
            runner.study, runner.root, runner.members, runner=runner, lines=lines, selected=selected
        )
        choice = board.run() or ("quit", [])
        selected = board.selected
        what, run_ids = choice
        runs = [RunDir(runner.root / i) for i in run_ids]
        if what == "watch":
            from diffdash.ui.dashboard import DashboardApp
            from diffdash.ui.widgets.sample_image import image_class

            DashboardApp(runs[0], image_mode=image_mode, image_cls=image_class(image_mode)).run()
        elif what == "compare":
            from diffdash.ui.compare_app import run_compare

            run_compare(runs, image_mode=image_mode)
        else:
            break
    printed = len(lines)
    for line in lines[-5:]:
        print(line)
    runner.say = lambda m: print(m, flush=True)
    if runner.running:
        runner.stop(detach=what == "detach")
    thread.join()
    for line in lines[printed:]:
        print(line)
    return result.get("rc", 1)
