"""The compare view's tables and grid row: summary, config diff and the runs' grids at one epoch."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable

from diffdash.comparison import config_diff, format_value
from diffdash.ui.compare_data import CompareRun
from diffdash.ui.widgets.sample_image import SampleImage

STATUS_STYLE = {"running": "cyan", "finished": "green", "failed": "red", "stopped": "yellow", "crashed": "magenta"}


def _f(v: float | None, spec: str = ".5f") -> str:
    return "-" if v is None else format(v, spec)


def run_text(r: CompareRun) -> Text:
    return Text("■ ", style=r.colour) + Text(r.label, style=f"bold {r.colour}")


class SummaryTable(DataTable):
    """Best validation loss @ epoch, final validation loss, epochs, s/epoch, images/s, FID, status."""

    COLUMNS = ("run", "best val @ep", "final val", "epochs", "s/epoch", "img/s", "FID @ep", "params", "status")

    def on_mount(self) -> None:
        self.cursor_type = "none"
        self.zebra_stripes = True
        for name in self.COLUMNS:
            self.add_column(name, key=name)

    def update_runs(self, runs: list[CompareRun]) -> None:
        self.clear()
        for r in runs:
            s = r.summary()
            best = f"{_f(s['best_val'])} @{s['best_epoch']}" if s["best_val"] is not None else "-"
            fid = f"{s['fid']:.1f} @{s['fid_epoch']}" if s["fid"] is not None else "-"
            status = s["status"]
            self.add_row(
                run_text(r),
                Text(best, justify="right"),
                Text(_f(s["final_val"]), justify="right"),
                Text(f"{s['epochs']}/{s['epochs_total'] or '?'}", justify="right"),
                Text(_f(s["seconds_per_epoch"], ".1f"), justify="right"),
                Text(_f(s["images_per_s"], ".0f"), justify="right"),
                Text(fid, justify="right"),
                Text(format_value(r.config.get("parameters")), justify="right"),
                Text(status, style=STATUS_STYLE.get(status, "")),
            )


class ConfigDiffTable(DataTable):
    """Only the config keys whose values differ between the runs (parameter counts included)."""

    def on_mount(self) -> None:
        self.cursor_type = "none"
        self.zebra_stripes = True

    def update_runs(self, runs: list[CompareRun]) -> None:
        self.clear(columns=True)
        self.add_column("differs", key="key")
        for r in runs:
            self.add_column(run_text(r), key=r.run.id)
        rows = config_diff([r.config for r in runs])
        if not rows:
            self.add_row("(configs are identical)", *["" for _ in runs])
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
            SampleImage(image_mode, image_cls=image_cls, placeholder="no grid yet", id=f"grid-{i}")
            for i in range(len(runs))
        ]

    def compose(self) -> ComposeResult:
        yield from self.images

    def show_epoch(self, epoch: int | None) -> None:
        for r, image in zip(self.runs, self.images, strict=True):
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
