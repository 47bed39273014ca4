"""Assemble a report folder: figures, metrics.csv and index.md, written to a temporary folder first and moved
into place at the end, so a failure never leaves half a report behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from diffdash.compare.quality_curve import equal_time_text, fid_at_equal_time
from diffdash.compare.report import figures
from diffdash.compare.shared import (
    EPOCH_COLUMNS,
    epoch_rows,
    format_value,
    read_config_safe,
    read_status_safe,
    rows_to_csv,
    run_colour,
    run_label,
    summary_row,
)
from diffdash.formats import format_at, format_loss
from diffdash.runs.history import read_history
from diffdash.store import RunDir

COURSEWORK_EPOCHS = (1, 25, 50, 75, 100)


def load_runs(runs: list[RunDir]) -> list[figures.ReportRun]:
    out = []
    used: set[str] = set()
    for i, run in enumerate(runs):
        config = read_config_safe(run)
        label = run_label(run, config)
        if label in used:
            label = f"{label}-{i + 1}"
        used.add(label)
        out.append(figures.ReportRun(run, label, run_colour(i), read_history(run), config))
    return out


def default_epochs(runs: list[figures.ReportRun]) -> list[int]:
    """The coursework's 1, 25, 50, 75, 100 where the runs got that far; else up to five evenly spread epochs."""
    last = max((max(e for e, _ in r.run.samples()) for r in runs if r.run.samples()), default=0)
    if last == 0:
        return []
    chosen = [e for e in COURSEWORK_EPOCHS if e <= last]
    if len(chosen) < 3:
        chosen = sorted({max(1, round(1 + k * (last - 1) / 4)) for k in range(5)})
    return chosen


def build_report(runs: list[RunDir], out_dir: Path, epochs: list[int] | None, say=print) -> list[Path]:
    """Write the report into `out_dir`, replacing what is there only once everything is written; returns the files."""
    loaded = load_runs(runs)
    if not epochs:
        epochs = default_epochs(loaded)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a report is an ordinary folder
    try:
        written = _write_all(loaded, epochs, tmp, say)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out_dir.exists():  # the command checked it is empty or that --force was given
        old = out_dir.with_name(f".{out_dir.name}.old-{tmp.name}")
        out_dir.rename(old)
    tmp.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return [out_dir / p.name for p in written]


def _write_all(runs: list[figures.ReportRun], epochs: list[int], folder: Path, say) -> list[Path]:
    written = []
    loss_files = []
    for r in runs:
        loss_files.append(figures.loss_figure(r, folder / f"loss_{r.label}.png"))
        say(f"  {loss_files[-1].name}")
    written += loss_files
    overlay = figures.overlay_figure(runs, folder / "overlay.png")
    written.append(overlay)
    say(f"  {overlay.name}")
    grid_files = []
    for epoch in epochs:
        grid_files.append(figures.grids_figure(runs, epoch, folder / f"grids_epoch_{epoch:04d}.png", warn=say))
        say(f"  {grid_files[-1].name}")
    written += grid_files
    fid = None
    if any(r.history.evals for r in runs):
        fid = figures.fid_figure(runs, folder / "fid.png")
        written.append(fid)
        say(f"  {fid.name}")
    strips = _process_strips(runs, folder, say)
    written += strips
    say("".join(f"  {p.name}\n" for p in strips).rstrip("\n") or "  (no process strips: no cold runs)")
    csv_path = folder / "metrics.csv"
    _write_csv(runs, csv_path)
    written.append(csv_path)
    index = folder / "index.md"
    index.write_text(_index_md(runs, loss_files, overlay, grid_files, fid, strips), encoding="utf-8")
    written.append(index)
    return written


def _process_strips(runs: list[figures.ReportRun], folder: Path, say=print, scale: int = 4) -> list[Path]:
    """Cold runs: the forward process of one digit, and one sample's reverse trajectory (newest preview)."""
    from PIL import Image

    out = []
    for r in runs:
        trajectories = r.run.samples("trajectory")
        sources = [("forward", r.run.samples_dir / "forward.png")]
        if trajectories:
            sources.append(("trajectory", trajectories[-1][1]))
        for kind, src in sources:
            if src.is_file():
                target = folder / f"{kind}_{r.label}.png"
                try:
                    with Image.open(src) as img:
                        img.load()
                        img.resize((img.width * scale, img.height * scale), Image.NEAREST).save(target)
                except (OSError, ValueError) as exc:
                    say(f"warning: skipped {src} ({str(exc).splitlines()[0] if str(exc) else 'unreadable'})")
                    continue
                out.append(target)
    return out


def _write_csv(runs: list[figures.ReportRun], path: Path) -> None:
    rows = []
    for r in runs:
        rows += epoch_rows(r.run, r.label)
    path.write_text(rows_to_csv(rows, EPOCH_COLUMNS), encoding="utf-8")


def _index_md(runs, loss_files, overlay, grid_files, fid, strips=()) -> str:
    from diffdash.compare.shared import config_diff
    from diffdash.options.run_kinds import loss_kind, loss_kinds_warning

    lines = ["# diffdash report", "", "## Runs", ""]
    lines += [
        "| run | id | status | loss | epochs | best val @ epoch | final val | s/epoch | images/s "
        "| FID (MNIST classifier) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        s = summary_row(r.run, r.history, read_status_safe(r.run))
        best = format_at(s["best_val"], s["best_epoch"], at=" @ ")
        fid_text = format_at(s["fid"], s["fid_epoch"], digits=2, at=" @ ")
        lines.append(
            f"| {r.label} | `{r.run.id}` | {s['status']} | {loss_kind(r.config)} "
            f"| {s['epochs']}/{s['epochs_total'] or '?'} | {best} "
            f"| {format_loss(s['final_val'])} | {format_loss(s['seconds_per_epoch'], 1)} "
            f"| {format_loss(s['images_per_s'], 0)} | {fid_text} |"
        )
    warning = loss_kinds_warning([r.label for r in runs], [r.config for r in runs])
    if warning:
        lines += ["", f"**Warning**: {warning} (the loss figures give each kind its own axes)."]
    diff = config_diff([r.config for r in runs]) if len(runs) > 1 else []
    if diff:
        lines += ["", "## Config differences", "", "| key | " + " | ".join(r.label for r in runs) + " |"]
        lines.append("|---" * (len(runs) + 1) + "|")
        lines += [f"| {k} | " + " | ".join(format_value(v) for v in vals) + " |" for k, vals in diff]
    lines += ["", "## Loss", "", f"![overlay]({overlay.name})", ""]
    lines += [f"![{p.stem}]({p.name})" for p in loss_files]
    if fid is not None:
        lines += ["", "## FID", "", f"![fid]({fid.name})"]
        equal = equal_time_text([r.label for r in runs], fid_at_equal_time([r.history for r in runs]))
        if equal and len(runs) > 1:
            lines += ["", equal]
    if grid_files:
        lines += ["", "## Samples", ""]
        lines += [f"![{p.stem}]({p.name})" for p in grid_files]
    if strips:
        lines += ["", "## Forward process and reverse trajectory", ""]
        lines += [f"![{p.stem}]({p.name})" for p in strips]
    lines += ["", "Per-epoch metrics of every run: [metrics.csv](metrics.csv)", ""]
    return "\n".join(lines)
