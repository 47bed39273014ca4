"""The compare view's panels: summary, config diff, the runs' grids at one epoch, and the hide/show picker."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import DataTable, SelectionList, Static

from diffdash.compare.quality_curve import cell, fid_at_equal_time, heading
from diffdash.compare.shared import config_diff, format_value, val_set
from diffdash.formats import STATE_COLOURS, compact, format_loss
from diffdash.ui.compare_data import CompareRun
from diffdash.ui.widgets.sample_image import SampleImage


def run_text(r: CompareRun, tags: bool = False) -> Text:
    text = Text("■ ", style=r.colour) + Text(r.label, style=f"bold {r.colour}")
    if tags and r.tags:
        text.append(" " + " ".join(f"#{t}" for t in r.tags), style="dim")
    return text


class SummaryTable(DataTable):
    """Status, loss kind, best val loss @ epoch, final val loss, epochs, parameters, validation set, tags, FID,
    FID at equal training time (its heading gives the time), s/epoch, images/s.

    Status comes second and the key columns (params, val on, tags) before the timings, so a narrow terminal
    cuts the least important ones; below NARROW_WIDTH columns the headings and figures are abbreviated.
    """

    COLUMNS = (
        "run", "status", "loss", "best val @ep", "final val", "epochs", "params", "val on", "tags", "FID @ep",
        "FID@time", "s/epoch", "img/s",
    )  # fmt: skip
    SHORT = ("run", "status", "loss", "best@ep", "final", "ep", "params", "val on", "tags", "FID@ep", "FID@t", "s/ep",
             "img/s")  # fmt: skip
    NARROW_WIDTH = 100

    def on_mount(self) -> None:
        self.cursor_type = "none"
        self.zebra_stripes = True
        self.runs: list[CompareRun] = []
        self.narrow = self.app.size.width < self.NARROW_WIDTH

    def on_resize(self) -> None:
        narrow = self.app.size.width < self.NARROW_WIDTH
        if narrow != self.narrow:
            self.narrow = narrow
            self.update_runs(self.runs)

    def update_runs(self, runs: list[CompareRun]) -> None:
        self.runs = runs
        self.clear(columns=True)
        shown = [r for r in runs if r.shown]
        equal = fid_at_equal_time([r.history for r in shown])
        rows = [self._row(r, e) for r, e in zip(shown, equal.evals, strict=True)]
        names = self.SHORT if self.narrow else self.COLUMNS
        # a column no shown run has a value in gives its room to the others: tags and FID at equal time always,
        # FID before any eval too when narrow
        optional = OPTIONAL if self.narrow else ("tags", "FID@time")
        keep = [i for i in range(len(names)) if names[i] not in optional
                or any(row[i].plain not in ("", "-") for row in rows)]  # fmt: skip
        names = (*names[:10], heading(equal), *names[11:])
        for i in keep:
            self.add_column(names[i], key=self.COLUMNS[i])
        for row in rows:
            self.add_row(*(row[i] for i in keep))

    def _row(self, r: CompareRun, at_equal_time: dict | None = None) -> list[Text]:
        digits = 4 if self.narrow else 5
        s = r.summary()
        best = f"{format_loss(s['best_val'], digits)} @{s['best_epoch']}" if s["best_val"] is not None else "-"
        fid = f"{s['fid']:.1f} @{s['fid_epoch']}" if s["fid"] is not None else "-"
        status = s["status"]
        name, n_val = val_set(r.config)
        params = r.config.get("parameters")
        if self.narrow:
            name = name.removeprefix("mnist-")
            params = count_text(params) if isinstance(params, int) else params
            n_val = count_text(n_val) if isinstance(n_val, int) else n_val
        return [
            run_text(r),
            Text(status, style=STATE_COLOURS.get(status, "")),
            Text(r.loss_kind),
            Text(best, justify="right"),
            Text(format_loss(s["final_val"], digits), justify="right"),
            Text(f"{s['epochs']}/{s['epochs_total'] or '?'}", justify="right"),
            Text(format_value(params), justify="right"),
            Text(f"{format_value(n_val)} {name}"),
            Text(" ".join(f"#{t}" for t in r.tags), style="dim"),
            Text(fid, justify="right"),
            Text(cell(at_equal_time), justify="right"),
            Text(format_loss(s["seconds_per_epoch"], 1), justify="right"),
            Text(format_loss(s["images_per_s"], 0), justify="right"),
        ]


OPTIONAL = ("FID@ep", "FID@t", "tags")


def count_text(n: int) -> str:
    """A count in a narrow column: exact below 10,000, then whole thousands (65921 -> 66k), then 3 significant
    digits (1500000 -> 1.5M), written by the one `compact`."""
    return str(n) if n < 10_000 else compact(round(n, -3) if n < 1_000_000 else n, 3)


class ConfigDiffTable(DataTable):
    """Only the config keys whose values differ between the runs (parameter counts included)."""

    def on_mount(self) -> None:
        self.cursor_type = "none"
        self.zebra_stripes = True

    def update_runs(self, runs: list[CompareRun]) -> None:
        self.clear(columns=True)
        runs = [r for r in runs if r.shown]
        self.add_column("differs", key="key")
        for r in runs:
            self.add_column(run_text(r), key=r.run.id)
        rows = config_diff([r.config for r in runs])
        if not rows:
            self.add_row("(configs are identical)" if len(runs) > 1 else "(one run shown)", *["" for _ in runs])
        for key, values in rows:
            self.add_row(key, *(format_value(v) for v in values))


class GridRow(Horizontal):
    """One SampleImage per run, all showing the same epoch (the latest grid at or before it)."""

    DEFAULT_CSS = """
    GridRow { height: 1fr; }
    GridRow > SampleImage { width: 1fr; height: 1fr; margin: 0 1; }
    """

    def __init__(self, runs: list[CompareRun], image_mode: str, image_cls: type[Widget] | None, **kw):
        super().__init__(**kw)
        self.runs = runs
        self.images = [
            SampleImage(image_mode, image_cls=image_cls, placeholder="no grid yet", crop_small=True, id=f"grid-{i}")
            for i in range(len(runs))
        ]

    def compose(self) -> ComposeResult:
        yield from self.images

    def show_epoch(self, epoch: int | None) -> None:
        for r, image in zip(self.runs, self.images, strict=True):
            image.display = r.shown
            found = r.grid_at(epoch) if epoch is not None else None
            if found is None:
                image.show(None, f"{r.label} · no grid by epoch {epoch}" if epoch else r.label)
                continue
            e, path = found
            parts = [r.label, f"epoch {e}" if e == epoch else f"epoch {e} (latest by {epoch})"]
            val = r.val_at(e)
            if val is not None:
                parts.append(f"val {val:.4f}")
            fid = r.fid_at(e)
            if fid is not None:
                parts.append(f"FID {fid:.1f}")
            image.show(path, " · ".join(parts))
            image.query_one(".caption").styles.color = r.colour


def picker_text(r: CompareRun, shown: bool) -> Text:
    """A run in the `h` list: "● shown" or "○ hidden" before its name and tags."""
    mark = Text("● shown  ", style="bold") if shown else Text("○ hidden ", style="dim")
    return mark + run_text(r, tags=True)


class RunPicker(ModalScreen[None]):
    """`h`: tick the runs to show (space toggles, enter or escape closes); the chart follows at once."""

    DEFAULT_CSS = """
    RunPicker { align: center middle; }
    RunPicker > Vertical { width: 60; max-width: 95%; height: auto; border: round $accent; background: $surface; }
    RunPicker SelectionList { height: auto; max-height: 16; }
    RunPicker Static { padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [Binding("escape,h", "close", "close")]

    def __init__(self, runs: list[CompareRun]):
        super().__init__()
        self.runs = runs

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("runs shown on the chart (space: show / hide, escape: done)")
            yield SelectionList[int](*[(picker_text(r, not r.hidden), r.index, not r.hidden) for r in self.runs])

    def on_mount(self) -> None:
        picker = self.query_one(SelectionList)
        picker.highlighted = 0
        picker.focus()

    @dataclass
    class Picked(Message):
        """The runs now hidden (indices); the app hides them at once, the picker stays open."""

        hidden: frozenset[int]

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        chosen = set(event.selection_list.selected)
        for i, r in enumerate(self.runs):  # the mark says shown or hidden in words, not only in colour
            event.selection_list.replace_option_prompt_at_index(i, picker_text(r, r.index in chosen))
        self.post_message(self.Picked(frozenset(r.index for r in self.runs if r.index not in chosen)))

    def action_close(self) -> None:
        self.dismiss()
