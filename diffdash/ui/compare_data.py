"""The state behind `diffdash compare`: each run followed live from its folder, and the chart series,
summary rows and scrubber epochs built from it. No widgets here, so it is testable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffdash.compare.shared import (
    hex_to_rgb,
    read_config_safe,
    read_status_safe,
    run_colour,
    run_label,
    sample_at,
    summary_row,
)
from diffdash.formats import COMPARE_AXES
from diffdash.options.run_kinds import loss_kind
from diffdash.runs.history import Follower
from diffdash.store import RunDir
from diffdash.store.tags import matches, read_tags
from diffdash.ui.chart_series import Series
from diffdash.ui.chart_views import figure_series, paler


@dataclass
class CompareRun:
    run: RunDir
    index: int
    config: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    samples: list[tuple[int, Path]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.follower = Follower(self.run)
        self.config = read_config_safe(self.run)
        self.label = run_label(self.run, self.config)
        self.colour = run_colour(self.index)
        self.rgb = hex_to_rgb(self.colour)
        self.tags = read_tags(self.run)
        self.hidden = False  # `h`: hidden by hand
        self.filtered = False  # `/`: left out by the filter

    @property
    def shown(self) -> bool:
        return not (self.hidden or self.filtered)

    def matches(self, query: str) -> bool:
        return matches(query, f"{self.label} {self.run.id}", self.tags)

    @property
    def history(self):
        return self.follower.history

    def poll(self) -> bool:
        """Read what the run wrote since the last poll; True if anything changed."""
        events = self.follower.poll()
        status = read_status_safe(self.run)
        samples = self.run.samples() if self.run.samples_dir.is_dir() else []
        changed = bool(events) or status != self.status or samples != self.samples
        if any(e.get("event") in ("start", "resumed") for e in events):
            self.config = read_config_safe(self.run)
        tags = read_tags(self.run)
        changed = changed or tags != self.tags
        self.status, self.samples, self.tags = status, samples, tags
        return changed

    @property
    def loss_kind(self) -> str:
        """What this run's loss measures: "MSE(ε)" (DDPM) or "L1(x0)" / "MSE(x0)" (cold)."""
        return loss_kind(self.config)

    @property
    def live(self) -> bool:
        return self.status.get("state") == "running"

    def summary(self) -> dict[str, Any]:
        return summary_row(self.run, self.history, self.status)

    def grid_at(self, epoch: int) -> tuple[int, Path] | None:
        """The grid of `epoch`, else the latest before it (a run previewing every N epochs)."""
        return sample_at(self.samples, epoch)

    def val_at(self, epoch: int) -> float | None:
        h = self.history
        return next((v for e, v in zip(h.epoch, h.val_loss, strict=False) if e == epoch), None)

    def fid_at(self, epoch: int) -> float | None:
        return self.history.fid_at(epoch)


def chart_series(runs: list[CompareRun], view: str = "loss") -> list[Series]:
    """One train line (every step; smoothing applies) and one validation line (per epoch) per shown run.

    The legend names each run with its loss kind ("small MSE(ε)", "cold L1(x0)"): the losses of DDPM and cold
    runs are different quantities, so a reader must see which line is which.
    """
    if view != "loss":  # `g`: one line per run of the figure shown (memory: RSS, and GPU in the fainter colour)
        return [
            _compare_series(s)
            for r in runs
            if r.shown
            for s in figure_series(r.history, view, r.config.get("steps_per_epoch"), color=r.rgb,
                                   second_color=paler(r.rgb), prefix=f"{r.label} ")
        ]  # fmt: skip
    out = []
    for r in runs:
        if not r.shown:
            continue
        h = r.history
        group = f"{r.label} {r.loss_kind}"
        epoch_x = _compare_axes(h.epoch_x())
        if len(h.steps):
            step_x, step_y = h.step_x(r.config.get("steps_per_epoch"))
            out.append(Series(f"{r.label} train", _compare_axes(step_x), step_y, color=r.rgb, group=group))
        else:
            out.append(Series(f"{r.label} train", epoch_x, h.train_loss, color=r.rgb, group=group))
        out.append(
            Series(f"{r.label} val", epoch_x, h.val_loss, color=r.rgb, smooth=False, kind="val", group=group,
                   epoch_marks=True)
        )  # fmt: skip
    return out


def _compare_series(s: Series) -> Series:
    s.x = _compare_axes(s.x)
    return s


def _compare_axes(x: dict[str, list[float]]) -> dict[str, list[float]]:
    """Runs of other batch sizes share no step axis, so compare offers the others only."""
    return {a: v for a, v in x.items() if a in COMPARE_AXES}


def scrub_epochs(runs: list[CompareRun]) -> list[int]:
    """Every epoch at which some shown run has a preview grid."""
    return sorted({e for r in runs if r.shown for e, _ in r.samples})
