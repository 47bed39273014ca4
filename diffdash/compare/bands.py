"""Runs grouped (seeds of one setting, or any runs by a config key) and drawn as a mean with a band.

A difference between two settings means little until it exceeds the spread between seeds: each group gets its
mean ± std of best validation loss and FID, its validation curve as mean with a band (± one standard deviation
or min–max, the legend says which), and two groups a sentence saying whether their difference exceeds their
spread (|mean a - mean b| against std a + std b). Plain Python and matplotlib; no torch, no UI.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffdash.runs.history import History

BANDS = ("std", "minmax")
BAND_LABELS = {"std": "mean ± 1 std", "minmax": "mean, band min–max"}


@dataclass
class GroupRun:
    label: str
    history: History
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def best_val(self) -> float | None:
        best = self.history.best_val
        return best[0] if best else None

    @property
    def fid(self) -> float | None:
        evals = [e for e in self.history.evals if isinstance(e.get("fid"), (int, float))]
        return float(evals[-1]["fid"]) if evals else None


@dataclass
class Group:
    name: str
    runs: list[GroupRun]

    @staticmethod
    def name_for(key: str, value: Any) -> str:
        """A group's name: key=value (a list's items joined by commas)."""
        shown = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        return f"{key}={shown}"

    def stat(self, what: str) -> tuple[float, float, int] | None:
        """(mean, std, n) of best_val or fid over the runs that have it (std 0 for one run)."""
        values = [v for v in (getattr(r, what) for r in self.runs) if v is not None and math.isfinite(v)]
        if not values:
            return None
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values)

    def curve(
        self, band: str = "std", what: str = "val_loss"
    ) -> tuple[list[int], list[float], list[float], list[float]]:
        """Epochs every run reached, the mean validation (or `what`="train_loss": training) loss there and the
        band's low and high edges."""
        per_run = [
            {
                e: v
                for e, v in zip(r.history.epoch, getattr(r.history, what), strict=False)
                if v is not None and math.isfinite(v)
            }
            for r in self.runs
        ]
        epochs = sorted(set.intersection(*(set(p) for p in per_run))) if per_run else []
        mean, low, high = [], [], []
        for e in epochs:
            vals = [p[e] for p in per_run]
            m = statistics.fmean(vals)
            if band == "minmax":
                lo, hi = min(vals), max(vals)
            else:
                s = statistics.stdev(vals) if len(vals) > 1 else 0.0
                lo, hi = m - s, m + s
            mean.append(m)
            low.append(lo)
            high.append(hi)
        return epochs, mean, low, high


def show_stat(stat: tuple[float, float, int] | None, digits: int = 5) -> str:
    if stat is None:
        return "-"
    mean, std, n = stat
    if n < 2:
        return f"{mean:.{digits}f} (n=1, no spread)"
    return f"{mean:.{digits}f} ± {std:.{digits}f} (n={n})"


def spread_sentence(a: Group, b: Group, what: str = "best_val") -> str:
    """Whether two groups' difference in mean exceeds the sum of their standard deviations, in measured words."""
    label = {"best_val": "best validation loss", "fid": "FID (MNIST classifier)"}[what]
    sa, sb = a.stat(what), b.stat(what)
    if sa is None or sb is None:
        return f"{label}: not measured for both {a.name} and {b.name}."
    (lo_name, lo), (hi_name, hi) = sorted([(a.name, sa), (b.name, sb)], key=lambda p: p[1][0])
    diff, spread = hi[0] - lo[0], sa[1] + sb[1]
    d = 5 if what == "best_val" else 2
    if min(sa[2], sb[2]) < 2:
        verdict = "one group has a single run, so its spread is unknown"
    elif diff > spread:
        verdict = (
            f"the difference {diff:.{d}f} exceeds their spread (std {sa[1]:.{d}f} + {sb[1]:.{d}f} = {spread:.{d}f})"
        )
    else:
        verdict = (
            f"the difference {diff:.{d}f} does not exceed their spread "
            f"(std {sa[1]:.{d}f} + {sb[1]:.{d}f} = {spread:.{d}f}): within seed noise"
        )
    return f"{label} is lower for {lo_name} ({lo[0]:.{d}f} against {hi[0]:.{d}f} for {hi_name}); {verdict}."


def summary_rows(groups: list[Group]) -> list[list[str]]:
    head = ["group", "runs", "best val (mean ± std)", "FID (MNIST clf, mean ± std)"]
    return [head] + [[g.name, str(len(g.runs)), show_stat(g.stat("best_val")), show_stat(g.stat("fid"), 2)]
                     for g in groups]  # fmt: skip


def group_by_key(runs: list[GroupRun], key: str) -> list[Group]:
    """Runs grouped by one config value, in order of first appearance; the group is named key=value."""
    out: dict[str, Group] = {}
    for r in runs:
        name = Group.name_for(key, r.config.get(key))
        out.setdefault(name, Group(name, [])).runs.append(r)
    return list(out.values())


def bands_figure(groups: list[Group], path: Path, band: str = "std", colours: list[str] | None = None) -> Path:
    """Each group's validation loss by epoch: its mean as a line, its band shaded; the legend says which band."""
    from diffdash.compare.report import require_matplotlib
    from diffdash.compare.shared import run_colour

    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(8.0, 5.0), dpi=100)
    all_y: list[float] = []
    for i, g in enumerate(groups):
        colour = (colours or [])[i] if colours and i < len(colours) else run_colour(i)
        epochs, mean, low, high = g.curve(band)
        if not epochs:
            continue
        ax.plot(epochs, mean, "o-", color=colour, linewidth=2, markersize=3,
                label=f"{g.name}: {BAND_LABELS[band]} (n={len(g.runs)})")  # fmt: skip
        ax.fill_between(epochs, low, high, color=colour, alpha=0.2, linewidth=0)
        all_y += low + high
    if all_y and min(all_y) > 0 and max(all_y) / min(all_y) > 3:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss")
    ax.set_title(f"validation loss by group: {BAND_LABELS[band]} over the group's runs", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    import io

    from diffdash.fsutil import atomic_write

    fmt = Path(path).suffix.lstrip(".").lower()  # bands.svg or .pdf as before; PNG for any other name
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt if fmt in fig.canvas.get_supported_filetypes() else "png")
    plt.close(fig)
    atomic_write(path, lambda f: f.write(buf.getvalue()))  # a kill mid-write never leaves half a PNG at `path`
    return path
