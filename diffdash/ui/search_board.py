"""The study board for a search: one row per trial as Optuna proposes them (its parameters, state, pruned at
epoch N, value), the best so far on top, refreshed from the storage and the run folders once a second.

The keys are the study board's: Enter opens a trial's dashboard, space and c compare trials, d leaves them
training, q stops the search after a checkpoint.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.widgets import DataTable, Static

from diffdash.formats import format_loss, format_seconds
from diffdash.study.search_status import TrialRow, rows_with
from diffdash.study.search_trials import describe
from diffdash.ui.study_app import STATE_STYLE, StudyBoard, progress_cell
from diffdash.ui.study_app import run_board as run_study_board

COLUMNS = ("", "trial", "state", "epochs", "value", "best val @ep", "parameters", "time")


def trial_cells(t: TrialRow, selected: bool) -> list[str]:
    r = t.row
    style = STATE_STYLE.get(t.state, "yellow" if t.state == "pruned" else "white")
    best = f"{format_loss(r.best_val)} @{r.best_epoch}" if r.best_val is not None else "-"
    value = format_loss(t.info.value) if t.info.value is not None else "-"
    return ["●" if selected else " ", r.member, f"[{style}]{t.state_text()}[/]", progress_cell(r), value, best,
            describe(t.info.params), format_seconds(r.seconds)]  # fmt: skip


class SearchBoard(StudyBoard):
    TITLE = "diffdash search"

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.trials: list[TrialRow] = []
        self.shown: list[str] = []

    def on_mount(self, event: events.Mount) -> None:
        event.prevent_default()  # the study board's on_mount would add a row per fixed member
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name or "sel")
        self.refresh_rows()
        self.set_interval(self.poll_s, self.refresh_rows)
        table.focus()

    def refresh_rows(self) -> None:
        self.trials, self.progress = rows_with(self.study, self.root, self.progress)
        self.rows = [t.row for t in self.trials]
        table = self.query_one(DataTable)
        order = [t.row.member for t in self.trials]
        if order != self.shown:  # a new trial, or a new best: rebuild, keeping the cursor on its trial
            current = self.shown[table.cursor_row] if self.shown and table.cursor_row < len(self.shown) else None
            table.clear()
            for t in self.trials:
                table.add_row(*trial_cells(t, t.row.member in self.selected), key=t.row.member)
            self.shown = order
            if current in order:
                table.move_cursor(row=order.index(current))
        else:
            for t in self.trials:
                for name, cell in zip(COLUMNS, trial_cells(t, t.row.member in self.selected), strict=True):
                    table.update_cell(t.row.member, name or "sel", cell, update_width=True)
        self.query_one("#title", Static).update(self.title_text())
        self.query_one("#events", Static).update("\n".join(self.lines[-3:]) or "[dim]no events yet[/]")

    def title_text(self) -> str:
        spec = self.study.search
        states = [t.state for t in self.trials]
        text = f"[b]search {self.study.name}[/b]  {len(self.trials)}/{spec.trials} trials"
        for state in ("complete", "pruned", "running", "fail"):
            if states.count(state):
                text += f" · {states.count(state)} {state}"
        best = next((t for t in self.trials if t.info.state == "complete"), None)
        if best is not None:
            text += f" · best {best.row.member} {spec.metric} {format_loss(best.info.value)}"
        if self.runner is not None:
            text += "" if self.active else "  [dim](runner stopped)[/]"
        return text


def run_board(runner: Any, lines: list[str], image_mode: str = "auto") -> int:
    return run_study_board(runner, lines, image_mode, board_cls=SearchBoard)
