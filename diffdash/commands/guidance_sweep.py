"""`diffdash eval RUN --guidance 0,1,2,4,8` on a class-conditional run: the trade-off of Ho & Salimans' Figure,
FID and accuracy against the guidance scale, as a table, a JSON and a PNG under <run>/eval/.

A sweep is not appended to metrics.jsonl: its events share one checkpoint, and the run's quality curve is one
point per checkpoint. `diffdash eval RUN --guidance W` (one scale) appends as any evaluation does.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import click

SIZE = (8.0, 4.5)  # 800 x 450 px
DPI = 100
MAX_SCALES_TEXT = 80  # the scales in a sweep's file name; longer lists are hashed


def print_per_digit(event: dict[str, Any]) -> None:
    """A conditional evaluation's accuracy and its per-digit rows."""
    click.echo(f"accuracy  {event['accuracy']:.3f}  (the classifier names the digit asked for; guidance "
               f"{event['guidance']:g})")  # fmt: skip
    click.echo("  digit     n  accuracy      FID  confidence")
    for row in event["per_digit"]:
        fid = f"{row['fid']:8.2f}" if row.get("fid") is not None else "       -"
        click.echo(f"  {row['digit']:>5} {row['n']:>5}  {row['accuracy']:>8.3f} {fid}  {row['confidence']:>10.3f}")


def sweep_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: e[k] for k in ("guidance", "fid", "accuracy", "confidence", "n", "seconds")} | {"per_digit": e["per_digit"]}
        for e in events
    ]


def scale_text(w: float) -> str:
    """2.0 -> '2', 0.5 -> '0.5'; the shortest text that reads back as the same number (1.0000001 is not '1')."""
    text = f"{w:g}"
    return text if float(text) == w else repr(float(w))


def sweep_stem(events: list[dict[str, Any]]) -> str:
    """The files' name: checkpoint epoch, sampler, n, seed and the scales swept, so sweeps over other scales of
    the same checkpoint sit beside each other instead of replacing each other (a list too long for a file name
    is named by its count and a hash of the scales)."""
    e0 = events[0]
    scales = "_".join(scale_text(e["guidance"]) for e in events)
    if len(scales) > MAX_SCALES_TEXT:
        scales = f"{len(events)}scales-{hashlib.sha1(scales.encode()).hexdigest()[:10]}"
    return f"guidance-epoch{e0['epoch']}-{e0['sampler']}{e0['steps']}-n{e0['n']}-seed{e0.get('seed', 0)}-w{scales}"


def report_sweep(run: Any, events: list[dict[str, Any]], reference: float | None, write: bool = True) -> None:
    """Print the sweep's table and, unless `write` is false (`--no-write`), write it as
    <run>/eval/guidance-....json and .png."""
    from diffdash.metrics.fid import FID_LABEL

    click.echo(f"{'guidance':>8}  {FID_LABEL:>22}  {'accuracy':>8}  {'confidence':>10}  {'seconds':>7}")
    for e in events:
        click.echo(
            f"{e['guidance']:>8g}  {e['fid']:>22.3f}  {e['accuracy']:>8.3f}  {e['confidence']:>10.3f}  "
            f"{e['seconds']:>7.1f}"
        )
    best = max(events, key=lambda e: (e["accuracy"], -e["fid"]))
    lowest = min(events, key=lambda e: e["fid"])
    click.echo(
        f"best accuracy {best['accuracy']:.3f} at guidance {best['guidance']:g}; lowest FID {lowest['fid']:.3f} at "
        f"guidance {lowest['guidance']:g}" + (f" (real training digits, same n: {reference:.3f})" if reference else "")
    )
    if not write:
        return
    e0, stem = events[0], sweep_stem(events)
    folder = run.path / "eval"
    try:
        folder.mkdir(exist_ok=True)
        json_path = write_json(folder / f"{stem}.json", events, reference)
        png_path = write_png(folder / f"{stem}.png", events, reference, title=f"{run.id}  epoch {e0['epoch']}")
    except OSError as exc:
        raise click.ClickException(f"cannot write the sweep under {folder}: {exc}") from None
    click.echo(f"wrote {json_path}")
    click.echo(f"wrote {png_path}" if png_path else "no PNG: matplotlib is not installed (pip install matplotlib)")
    click.echo("(a sweep is not appended to the run's metrics; eval with one --guidance to append)")


def write_json(path: Path, events: list[dict[str, Any]], reference: float | None) -> Path:
    from diffdash.fsutil import atomic_write_json

    keep = ("epoch", "step", "checkpoint", "sampler", "steps", "weights", "seed", "dataset")
    atomic_write_json(path, {**{k: events[0].get(k) for k in keep}, "fid_real": reference, "sweep": sweep_rows(events)})
    return path


def write_png(path: Path, events: list[dict[str, Any]], reference: float | None, title: str) -> Path | None:
    """FID (left axis) and accuracy (right axis) against guidance; None without matplotlib."""
    from diffdash.compare.report import MatplotlibMissing, require_matplotlib

    try:
        plt = require_matplotlib()
    except MatplotlibMissing:
        return None
    from diffdash.fsutil import atomic_write
    from diffdash.metrics.fid import FID_LABEL

    ws = [e["guidance"] for e in events]
    fig, ax = plt.subplots(figsize=SIZE, dpi=DPI)
    ax.plot(ws, [e["fid"] for e in events], "o-", color="tab:blue", label=FID_LABEL)
    if reference:
        ax.axhline(reference, color="tab:blue", linestyle=":", linewidth=1, label="real digits, same n")
    ax.set_xlabel("guidance w  (eps = (1+w)·cond − w·uncond)")
    ax.set_ylabel(f"{FID_LABEL}, lower is better", color="tab:blue")
    ax.grid(True, alpha=0.3)
    acc = ax.twinx()
    acc.plot(ws, [100 * e["accuracy"] for e in events], "s-", color="tab:red", label="accuracy")
    acc.set_ylabel("accuracy (%): the digit asked for", color="tab:red")
    acc.set_ylim(0, 100)
    ax.set_title(f"{title}: FID and accuracy against guidance (n={events[0]['n']})", fontsize=10)
    fig.legend(loc="lower center", ncol=3, fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    atomic_write(path, lambda f: f.write(buf.getvalue()))
    return path
