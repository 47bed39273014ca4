"""What `compare`, `diff`, `export` and `report` share: config differences, tidy metric tables, smoothing,
x axes and a stable colour per run. Plain Python on top of the run folder: no torch, no UI.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffdash.options.run_kinds import NOT_APPLICABLE, key_applies
from diffdash.runs.history import History, read_history
from diffdash.store import RunDir

# Distinct on dark and light backgrounds (matplotlib's tab10, reordered so the first ones differ most).
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#17becf",
    "#e377c2",
    "#bcbd22",
    "#8c564b",
    "#7f7f7f",
)
# Keys that say how a run was launched rather than what was trained; still shown, but after the rest.
LATE_KEYS = ("name", "device", "resolved_device", "data_dir", "versions")
EPOCH_COLUMNS = (
    "run",
    "epoch",
    "step",
    "images",
    "time",
    "train_loss",
    "val_loss",
    "seconds",
    "images_per_s",
    "fid",
)


def run_colour(i: int) -> str:
    """Colour of the i-th run of a comparison (0-based): the same run order gives the same colours everywhere."""
    return PALETTE[i % len(PALETTE)]


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def run_label(run: RunDir, config: dict[str, Any] | None = None) -> str:
    """The name a person gave the run, else its folder id."""
    if config is None:
        try:
            config = run.read_config()
        except (OSError, ValueError):
            config = {}
    name = config.get("name") if isinstance(config, dict) else None
    return name if isinstance(name, str) and name else run.id


def read_config_safe(run: RunDir) -> dict[str, Any]:
    try:
        config = run.read_config()
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'data': {'name': 'mnist'}} -> {'data.name': 'mnist'}; lists stay values."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def config_diff(configs: list[dict[str, Any]], *, include_name: bool = False) -> list[tuple[str, list[Any]]]:
    """Only the keys whose values differ between the configs (a missing key counts as a difference), each
    shown for the runs whose model reads it ("n/a" for the others: no `schedule` for a cold run).

    The parameter count is a key of config.json, so it shows whenever the architectures differ.
    """
    flat = [flatten(used_config(c)) for c in configs]
    keys: list[str] = []
    for f in flat:
        keys += [k for k in f if k not in keys]
    out = []
    for key in keys:
        if key == "name" and not include_name:
            continue
        # a key only counts for the runs whose model reads it (no mask_std for a blur run): n/a for the others
        values = [f.get(key, _MISSING) if key_applies(key, c) else NOT_APPLICABLE for f, c in zip(flat, configs,
                  strict=True)]  # fmt: skip
        if all(v == NOT_APPLICABLE for v in values):
            continue
        if any(v != values[0] for v in values[1:]):
            out.append((key, [None if v is _MISSING else v for v in values]))
    return sorted(out, key=lambda kv: kv[0].split(".")[0] in LATE_KEYS or kv[0] in LATE_DATA_KEYS)


_MISSING = object()
LATE_DATA_KEYS = ("data.source", "data.fallback_from")


def used_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config with the data actually used in place of the one asked for.

    config.json keeps both: `dataset` (the option) and `data` (what the engine loaded; a run asking for
    full MNIST offline trains on the bundled subset). Comparisons must show the second.
    """
    if isinstance(config.get("data"), dict) and config["data"].get("name"):
        return {k: v for k, v in config.items() if k != "dataset"}
    return config


def val_set(config: dict[str, Any]) -> tuple[str, int | None]:
    """(data set actually used, number of validation digits): equal for runs whose val losses compare."""
    data = config.get("data")
    name = data.get("name") if isinstance(data, dict) and data.get("name") else config.get("dataset")
    n_val = config.get("n_val")
    return str(name or "?"), n_val if isinstance(n_val, int) else None


def val_set_warning(labels: list[str], configs: list[dict[str, Any]]) -> str | None:
    """One line saying which runs were validated on what, when that differs (None when all agree)."""
    sets = [val_set(c) for c in configs]
    if len(set(sets)) <= 1:
        return None
    parts = [f"{label} {format_value(n) if n is not None else '?'} of {name}" for label, (name, n) in zip(
        labels, sets, strict=True)]  # fmt: skip
    return "validation sets differ (" + ", ".join(parts) + "): their val losses do not compare"


def format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10000:
        return f"{value:,}"
    return str(value)


def debiased_ema(values: list[float | None], strength: float) -> list[float | None]:
    """Exponential moving average with the start-up bias removed (as in Adam): s_t / (1 - a^t).

    `strength` is the decay a in [0, 1): 0 leaves the values as they are. Non-finite values are passed
    through as None and do not disturb the average.
    """
    if not 0 <= strength < 1:
        raise ValueError(f"smoothing strength must be in [0, 1), got {strength}")
    out: list[float | None] = []
    avg, weight = 0.0, 0.0
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(None)
            continue
        avg = strength * avg + (1 - strength) * v
        weight = strength * weight + (1 - strength)
        out.append(avg / weight)
    return out


@dataclass
class Curve:
    x: list[float]
    y: list[float]


def train_curve(h: History, axis: str, steps_per_epoch: int | None) -> Curve:
    """Training loss of every step (the noisy one smoothing is for); without step events, the epoch means."""
    if not len(h.steps) and h.epochs:
        return Curve(h.epoch_x()[axis], h.train_loss)
    x, y = h.step_x(steps_per_epoch)
    return Curve(x[axis], y)


def val_curve(h: History, axis: str) -> Curve:
    return Curve(h.epoch_x()[axis], h.val_loss)


def epoch_rows(run: RunDir, label: str | None = None) -> list[dict[str, Any]]:
    """The tidy table of a run: one row per epoch (after resumes are applied), with that epoch's FID if evaluated."""
    h = read_history(run)
    label = label or run_label(run)
    rows = []
    for e in h.epochs:
        row = {key: e.get(key) for key in EPOCH_COLUMNS}
        row["run"], row["time"] = label, e.get("train_time")  # training seconds: validation and previews left out
        row["fid"] = h.fid_at(e.get("epoch", 0))
        rows.append(row)
    return rows


def summary_row(run: RunDir, h: History, status: dict[str, Any]) -> dict[str, Any]:
    """The compare/report summary: best val @ epoch, final val, epochs, s/epoch, images/s and training seconds
    (the run's, from `time_spent`: the figures every view gives), FID, status."""
    best = h.best_val
    finals = [v for v in h.val_loss if v is not None]
    fids = [(e.get("fid"), e.get("epoch")) for e in h.evals if isinstance(e.get("fid"), (int, float))]
    return {
        "best_val": best[0] if best else None,
        "best_epoch": best[1] if best else None,
        "final_val": finals[-1] if finals else None,
        "epochs": h.epoch[-1] if h.epoch else 0,
        "epochs_total": status.get("epochs") or (h.start or {}).get("epochs"),
        "seconds_per_epoch": _mean(h.epoch_seconds),
        "images_per_s": h.time.images_per_s,
        "train_seconds": h.time.train if h.time.clock is not None else None,
        "fid": fids[-1][0] if fids else None,
        "fid_epoch": fids[-1][1] if fids else None,
        "best_fid": min(fids)[0] if fids else None,
        "status": status.get("state") or "unknown",
    }


def _mean(values: list[float]) -> float | None:
    good = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(good) / len(good) if good else None


def read_status_safe(run: RunDir) -> dict[str, Any]:
    try:
        status = run.read_status()
    except (OSError, ValueError, AttributeError):
        return {}
    return status if isinstance(status, dict) else {}


def sample_at(samples: list[tuple[int, Path]], epoch: int) -> tuple[int, Path] | None:
    """The preview grid of `epoch` among a run's grids (`RunDir.samples()`, oldest first), else the latest one
    before it (a run sampling every N epochs); of an epoch's grids, its last (the one drawn at its end)."""
    earlier = [(e, p) for e, p in samples if e <= epoch]
    return earlier[-1] if earlier else None


def align(table: list[list[str]]) -> list[str]:
    """Rows of cells as left-aligned text columns (the plain-text views: diff, compare --plain)."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]


def rows_to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """Rows as CSV text; None becomes an empty cell."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in columns})
    return buf.getvalue()
