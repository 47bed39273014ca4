"""What the chart can show besides the loss (the `g` key, the same in the dashboard and compare), as plain data.

One quantity per view, so no view puts two units on one axis: sample quality as curves over training (each
`--eval-every` evaluation's FID, digits covered of 10, and mean confidence with, for class-conditional runs,
accuracy beside it: both shares of the samples; the other figures on the readout), the gradient norm and the
learning rate of every step, and the training process's CPU % and memory from its `system` samples. A run
recorded before diffdash logged these has none: the chart then says so instead of drawing nothing.
"""

from __future__ import annotations

from diffdash.compare.quality_curve import QUALITY_FIGURES, eval_x, quality_curve, quality_note
from diffdash.runs.history import History
from diffdash.ui.chart_series import Series

CHART_VIEWS = ("loss", "quality", "digits", "confidence", "grad_norm", "lr", "cpu", "memory")
QUALITY_VIEWS = tuple(QUALITY_FIGURES)  # drawn from eval events, against the same x axes as the loss
VIEW_TITLES = {
    "loss": "loss",
    "quality": "FID (MNIST classifier)",
    "digits": "digits covered (of 10)",
    "confidence": "confidence (accuracy: conditional runs)",
    "grad_norm": "gradient norm",
    "lr": "learning rate",
    "cpu": "CPU %",
    "memory": "memory (GiB)",
}
EMPTY_TEXT = {
    "quality": "no FID: --eval-every K or diffdash eval",  # fits the chart of an 80-column dashboard
    "digits": "no evaluations: --eval-every K or diffdash eval",
    "confidence": "no evaluations: --eval-every K or diffdash eval",
    "grad_norm": "no gradient norms: this run was recorded before diffdash logged them",
    "lr": "no learning rates: this run was recorded before diffdash logged them",
    "cpu": "no CPU samples yet (one every few seconds of training)",
    "memory": "no memory samples yet (one every few seconds of training)",
}
GIB = 2**30


def paler(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """A run's colour halfway to white: its second line in a view (GPU memory beside RSS)."""
    return tuple((c + 255) // 2 for c in rgb)  # type: ignore[return-value]


def next_view(view: str) -> str:
    return CHART_VIEWS[(CHART_VIEWS.index(view) + 1) % len(CHART_VIEWS)] if view in CHART_VIEWS else "loss"


def figure_series(
    h: History,
    view: str,
    steps_per_epoch: int | None = None,
    *,
    color: str | tuple[int, int, int] = "cyan",
    second_color: str | tuple[int, int, int] = "magenta",
    prefix: str = "",
    group: str | None = None,
) -> list[Series]:
    """The series of a view other than "loss" for one run (`prefix`: its label in compare, `group`: its legend)."""

    def line(figure: str, label: str, colour, smooth: bool, scale: float = 1.0) -> list[Series]:
        x, y = h.figure_x(figure, steps_per_epoch)
        if not y:
            return []
        values = [v / scale for v in y] if scale != 1.0 else y
        return [Series(f"{prefix}{label}", x, values, colour, smooth=smooth, group=group)]

    if view in QUALITY_FIGURES:
        out = []
        for (name, figure), colour in zip(QUALITY_FIGURES[view], (color, second_color), strict=False):
            evals, values = quality_curve(h, figure)
            if values:
                notes = [quality_note(e, shown=figure) for e in evals]
                out.append(Series(f"{prefix}{name}", eval_x(evals), values, colour, smooth=False, group=group,
                                  epoch_marks=True, notes=notes))  # fmt: skip
        return out
    if view == "grad_norm":
        return line("grad_norm", "grad norm", color, True)
    if view == "lr":
        return line("lr", "lr", color, False)
    if view == "cpu":
        return line("cpu_percent", "CPU %", color, False)
    if view == "memory":
        return line("rss_bytes", "RSS", color, False, GIB) + line("gpu_mem_bytes", "GPU", second_color, False, GIB)
    return []
