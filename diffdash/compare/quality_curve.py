"""Sample quality as a curve over training: each evaluation's FID (MNIST classifier), digits covered and
confidence, placed on the same x axes as the loss (epoch, images seen, training time), and the FID several
runs had at an equal training time, which is how networks of different speeds compare fairly.

An eval event (`--eval-every`, or `diffdash eval`) is placed where `History` put it: the epoch, step and images
it records and the training time so far when it arrived (`time_spent`: validation and previews left out).
"FID at equal training time" is the FID of each run's last evaluation at or before the latest training time
every run reached: a measured figure, never an interpolation between two evaluations. No torch, no UI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from diffdash.formats import format_clock
from diffdash.runs.history import History

COVERED_SHARE = 0.01  # a digit counts as covered when at least 1 % of the samples are classified as it
X_KEYS = {"epoch": "epoch", "step": "step", "images": "images", "time": "train_time"}
TIME_SLACK = 1e-3  # seconds: an evaluation drawn at the very end of the common time still counts


def digits_covered(histogram: Any) -> int | None:
    """How many of the ten digits got at least COVERED_SHARE of the samples (histogram: counts or shares)."""
    if not isinstance(histogram, list) or not histogram:
        return None
    total = sum(v for v in histogram if isinstance(v, (int, float)))
    if total <= 0:
        return 0
    return sum(1 for v in histogram if isinstance(v, (int, float)) and v / total >= COVERED_SHARE)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def scored(h: History) -> list[dict[str, Any]]:
    """The run's evaluations that have a FID, in training order: the points of the quality curve.

    `diffdash eval --epoch N` appends its event after the run's end; it is placed at the training time of epoch
    N's end (when the snapshot it scored was taken), not at the time of writing."""
    ends = {(e.get("epoch"), e.get("step")): e.get("train_time") for e in h.epochs}
    out = []
    for e in h.evals:
        if not _number(e.get("fid")):
            continue
        at = ends.get((e.get("epoch"), e.get("step"))) if e.get("checkpoint") else None
        out.append({**e, "train_time": at} if _number(at) else e)
    return sorted(out, key=lambda e: (e.get("step") or 0, float(e.get("train_time") or 0)))


def eval_x(evals: list[dict[str, Any]]) -> dict[str, list[float]]:
    """The x columns of evaluations (epoch, step, images, training time), as `History.epoch_x` gives epochs'."""
    return {axis: [float(e.get(key) or 0) for e in evals] for axis, key in X_KEYS.items()}


# the quality curves: (view, series name, the figure of an eval event); one unit per view (chart_views)
QUALITY_FIGURES = {
    "quality": (("FID", "fid"),),
    "digits": (("digits covered", "digits"),),
    "confidence": (("confidence", "confidence"), ("accuracy", "accuracy")),  # accuracy: class-conditional runs
}


def figure_of(e: dict[str, Any], figure: str) -> float | None:
    """One figure of an evaluation: its FID, digits covered (of 10), mean confidence or accuracy; None if absent."""
    value = digits_covered(e.get("histogram")) if figure == "digits" else e.get(figure)
    return float(value) if _number(value) else None


def quality_curve(h: History, figure: str) -> tuple[list[dict[str, Any]], list[float]]:
    """The evaluations that have `figure` (in training order, among those with a FID) and its values."""
    points = [(e, figure_of(e, figure)) for e in scored(h)]
    kept = [(e, v) for e, v in points if v is not None]
    return [e for e, _ in kept], [v for _, v in kept]


def quality_note(e: dict[str, Any], shown: str = "fid") -> str:
    """What the readout adds beside a point of figure `shown`, the evaluation's other figures: a FID point's
    "9/10 digits conf 0.67 (ddim 50, n=100)", a digits point's "FID 512.3 conf 0.67 (ddim 50, n=100)"."""
    parts = [f"FID {e['fid']:.1f}"] if shown != "fid" and _number(e.get("fid")) else []
    covered = digits_covered(e.get("histogram"))
    if covered is not None and shown != "digits":
        parts.append(f"{covered}/10 digits")
    if _number(e.get("confidence")) and shown != "confidence":
        parts.append(f"conf {e['confidence']:.2f}")
    how = " ".join(str(e[k]) for k in ("sampler", "steps") if e.get(k) is not None)
    if e.get("n") is not None:
        how = f"{how}, n={e['n']}" if how else f"n={e['n']}"
    return " ".join(parts) + (f" ({how})" if how else "")


def trained_seconds(h: History) -> float | None:
    """The training time a run has reached (None before its first step)."""
    return h.time.train if h.time.clock is not None and h.time.train > 0 else None


def eval_at_time(h: History, seconds: float) -> dict[str, Any] | None:
    """The run's last evaluation drawn at or before `seconds` of training."""
    earlier = [e for e in scored(h) if float(e.get("train_time") or 0) <= seconds + TIME_SLACK]
    return earlier[-1] if earlier else None


@dataclass
class EqualTime:
    """The latest training time every run reached, and each run's last evaluation at or before it."""

    seconds: float | None
    evals: list[dict[str, Any] | None]

    @property
    def any(self) -> bool:
        return any(e is not None for e in self.evals)


def fid_at_equal_time(histories: list[History]) -> EqualTime:
    """FID at equal training time: the common time is the least that any evaluated run reached; each run gives
    the evaluation it had by then (a run never evaluated gives nothing and does not shorten the time)."""
    reached = [trained_seconds(h) if scored(h) else None for h in histories]
    known = [t for t in reached if t is not None]
    if not known:
        return EqualTime(None, [None] * len(histories))
    common = min(known)
    return EqualTime(
        common, [eval_at_time(h, common) if t is not None else None for h, t in zip(histories, reached, strict=True)]
    )


def cell(e: dict[str, Any] | None) -> str:
    """A run's FID at equal time in a table: "512.3", "-" when it had no evaluation by then."""
    return f"{e['fid']:.1f}" if e is not None else "-"


def heading(equal: EqualTime) -> str:
    """The column's heading names the common training time: "FID@05:12"."""
    return f"FID@{format_clock(equal.seconds)}" if equal.seconds is not None else "FID@time"


def equal_time_text(labels: list[str], equal: EqualTime) -> str | None:
    """One sentence for compare --plain and the report; None when no run had an evaluation by the common time."""
    if equal.seconds is None or not equal.any:
        return None
    parts = []
    for label, e in zip(labels, equal.evals, strict=True):
        if e is None:
            parts.append(f"{label} -")
        else:
            at = format_clock(float(e.get("train_time") or 0))
            parts.append(f"{label} {e['fid']:.1f} (epoch {e.get('epoch', '?')}, evaluated at {at})")
    return (
        f"FID (MNIST classifier) at equal training time {format_clock(equal.seconds)} (the shortest evaluated run's; "
        "each run's last evaluation at or before it, not interpolated): " + ", ".join(parts)
    )
