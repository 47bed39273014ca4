"""What a chart draws, as plain data: `Series`, one named line. The dashboard's and compare's data models
build these; the chart widget draws them. No widgets here, so the models stay below the widgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Series:
    """One named line on a chart. `x` maps an axis name (epoch, step, images, time) to x values.

    `group` (a run's name) lets the legend name each colour once when several series share it; `kind`
    (train or val) is what the `t` key filters on; `epoch_marks` draws a marker at every point, for
    series with one value per epoch; `notes`, one text per point, is what the readout adds beside a point's
    value (an evaluation's digits covered and confidence beside its FID); `band` (e.g. "mean ± 1 std") marks
    the dimmer edge of a group's band, which the legend names once.
    """

    name: str
    x: dict[str, Sequence[float]]
    y: Sequence[float]
    color: str | tuple[int, int, int] = "cyan"
    smooth: bool = True  # the chart's smoothing toggle applies an EMA to this series
    marker: str = "braille"
    kind: str = "train"
    group: str | None = None
    epoch_marks: bool = False
    notes: Sequence[str] | None = None
    band: str | None = None
