"""The report's matplotlib figures. Each function writes one PNG and returns its path.

Sizes are fixed (figsize x DPI) so a report looks the same every time and tests can check them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffdash.compare.quality_curve import eval_x, scored
from diffdash.compare.report import require_matplotlib
from diffdash.compare.shared import debiased_ema, sample_at, train_curve, val_curve
from diffdash.formats import AXIS_LABELS
from diffdash.options.run_kinds import loss_kind, loss_kind_long
from diffdash.runs.history import History
from diffdash.store import RunDir

DPI = 100
LOSS_SIZE = (8.0, 5.0)  # 800 x 500 px
OVERLAY_SIZE = (14.0, 5.0)  # 1400 x 500 px
GRID_PANEL = 3.2  # inches per run in a grids figure (+ title room)


@dataclass
class ReportRun:
    run: RunDir
    label: str
    colour: str
    history: History
    config: dict[str, Any]


def _finite(xs: list[float], ys: list[float | None]) -> tuple[list[float], list[float]]:
    pairs = [(x, y) for x, y in zip(xs, ys, strict=False) if y is not None and math.isfinite(y)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _log_if_positive(ax, ys: list[float]) -> None:
    """Log y when the loss spans a wide range (the coursework's curves drop 10x), with plain-number ticks."""
    if ys and min(ys) > 0 and max(ys) / min(ys) > 3:
        from matplotlib.ticker import FormatStrFormatter

        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.2g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2g"))
        ax.tick_params(axis="y", which="minor", labelsize=7)


def loss_label(config: dict[str, Any]) -> str:
    """What the loss measures: DDPM predicts the noise; a cold run restores the digit (L1 by default, or L2)."""
    return f"loss ({loss_kind_long(config)})"


def loss_figure(r: ReportRun, path: Path) -> Path:
    """One run's training loss (every step, faint; smoothed; epoch means) and validation loss per epoch."""
    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=LOSS_SIZE, dpi=DPI)
    h = r.history
    steps = train_curve(h, "epoch", r.config.get("steps_per_epoch"))
    sx, sy = _finite(steps.x, steps.y)
    all_y: list[float] = []
    if h.step:
        ax.plot(sx, sy, color=r.colour, alpha=0.2, linewidth=0.7, label="train (each step)")
        mx, my = _finite(steps.x, debiased_ema(steps.y, 0.9))
        ax.plot(mx, my, color=r.colour, alpha=0.6, linewidth=1.0, label="train (smoothed, EMA 0.9)")
        all_y += sy
    ex, ey = _finite(h.epoch_x()["epoch"], h.train_loss)
    ax.plot(ex, ey, "o-", color=r.colour, linewidth=2, markersize=4, label="train (epoch mean)")
    vx, vy = _finite(h.epoch_x()["epoch"], h.val_loss)
    ax.plot(vx, vy, "s--", color="black", linewidth=2, markersize=4, label="validation")
    all_y += ey + vy
    _log_if_positive(ax, all_y)
    ax.set_xlabel("epoch")
    ax.set_ylabel(loss_label(r.config))
    ax.set_title(f"{r.label}: training and validation loss")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    return _save(fig, path)


def overlay_figure(runs: list[ReportRun], path: Path) -> Path:
    """Every run's train (solid) and validation (dashed) loss, by epoch and by images seen (fair across batch sizes).

    Runs whose losses measure different things (DDPM's MSE of the noise, cold diffusion's L1 of the digit) get a
    row of panels each, with its own y axis named for what it measures: never one axis for both.
    """
    plt = require_matplotlib()
    groups: dict[str, list[ReportRun]] = {}
    for r in runs:
        groups.setdefault(loss_kind(r.config), []).append(r)
    rows = len(groups)
    fig, grid = plt.subplots(rows, 2, figsize=(OVERLAY_SIZE[0], OVERLAY_SIZE[1] * rows), dpi=DPI, squeeze=False)
    for axes, (kind, members) in zip(grid, groups.items(), strict=True):
        all_y: list[float] = []
        for ax, axis in zip(axes, ("epoch", "images"), strict=True):
            for r in members:
                tx, ty = _finite(r.history.epoch_x()[axis], r.history.train_loss)
                val = val_curve(r.history, axis)
                vx, vy = _finite(val.x, val.y)
                marker = "o" if len(tx) <= 30 else None  # a few epochs read better as points joined
                ax.plot(tx, ty, "-", color=r.colour, linewidth=2, marker=marker, markersize=4, label=f"{r.label} train")
                ax.plot(vx, vy, "--", color=r.colour, linewidth=2, marker=marker, markersize=4,
                        label=f"{r.label} validation")  # fmt: skip
                all_y += ty + vy
            ax.set_xlabel(AXIS_LABELS[axis])
            ax.set_ylabel(f"loss {kind}" if rows > 1 else loss_label(members[0].config))
            ax.grid(True, alpha=0.3)
        for ax in axes:
            _log_if_positive(ax, all_y)
        what = loss_kind_long(members[0].config) if rows > 1 else "loss"
        axes[0].set_title(f"{what} by epoch")
        axes[1].set_title(f"{what} by images seen")
        axes[0].legend(fontsize=8)
    return _save(fig, path)


def fid_figure(runs: list[ReportRun], path: Path) -> Path:
    """FID (MNIST-classifier features; lower is better) of every evaluation, one line per run, by epoch and by
    training time: a network slower per epoch can still be the better one per minute of training."""
    plt = require_matplotlib()
    fig, axes = plt.subplots(1, 2, figsize=OVERLAY_SIZE, dpi=DPI, squeeze=False)
    all_y: list[float] = []
    for ax, axis in zip(axes[0], ("epoch", "time"), strict=True):
        for r in runs:
            evals = scored(r.history)
            if evals:
                xs = [x / 60 if axis == "time" else x for x in eval_x(evals)[axis]]
                ys = [e["fid"] for e in evals]
                ax.plot(xs, ys, "o-", color=r.colour, linewidth=2, markersize=4, label=r.label)
                all_y += ys
        ax.set_xlabel("epoch" if axis == "epoch" else "training time (min)")
        ax.set_ylabel("FID (MNIST classifier; lower is better)")
        ax.grid(True, alpha=0.3)
    for ax in axes[0]:
        _log_if_positive(ax, all_y)
    axes[0][0].set_title("FID (MNIST classifier) by epoch")
    axes[0][1].set_title("FID (MNIST classifier) by training time")
    axes[0][0].legend(fontsize=8)
    return _save(fig, path)


def grids_figure(
    runs: list[ReportRun], epoch: int, path: Path, warn: Callable[[str], None] = print, title: str | None = None
) -> Path:
    """The runs' preview grids side by side at one epoch (the latest grid at or before it, labelled so); with a
    `title` and an epoch past every run's, each run's newest grid.

    A grid that cannot be read (cut short, not a PNG) leaves its panel saying so, with a warning.
    """
    plt = require_matplotlib()
    from PIL import Image

    n = len(runs)
    fig, axes = plt.subplots(1, n, figsize=(GRID_PANEL * n, GRID_PANEL + 0.6), dpi=DPI, squeeze=False)
    for ax, r in zip(axes[0], runs, strict=True):
        found = sample_at(r.run.samples(), epoch)
        ax.set_xticks([])
        ax.set_yticks([])
        if found is None:
            missing = "no grid" if title else f"no grid\nby epoch {epoch}"
            ax.text(0.5, 0.5, missing, ha="center", va="center", fontsize=11)
            ax.set_title(r.label, color=r.colour, fontsize=10)
            continue
        e, grid_path = found
        try:
            with Image.open(grid_path) as img:
                pixels = img.convert("L")
        except (OSError, ValueError) as exc:
            warn(f"warning: skipped {grid_path} ({str(exc).splitlines()[0] if str(exc) else 'unreadable'})")
            ax.text(0.5, 0.5, f"grid of epoch {e}\nunreadable", ha="center", va="center", fontsize=11)
            ax.set_title(r.label, color=r.colour, fontsize=10)
            continue
        ax.imshow(pixels, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        note = f"epoch {e}" if e == epoch or title else f"epoch {e} (latest by {epoch})"
        ax.set_title(f"{r.label}\n{note}", color=r.colour, fontsize=10)
    fig.suptitle(title or f"samples at epoch {epoch}", fontsize=12)
    return _save(fig, path, rect=(0, 0, 1, 0.9))


def _save(fig, path: Path, rect: tuple[float, float, float, float] | None = None) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
