"""`diffdash study report`: the coursework's figures for whatever a study holds, its findings, and an index.md
that says which of the coursework's Figures 1-14 each file corresponds to.

The figures are drawn by diffdash/compare/report/figures.py (the same code as `diffdash report`); this module chooses
which runs go into which figure: each run's loss, the overlay of all runs and of each model's runs, each
model's grids side by side at the chosen epochs, and for cold runs the forward process, reconstructions and
generated samples at the first and last epoch. Written to a temporary folder and renamed into place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from diffdash.compare.quality_curve import equal_time_text, fid_at_equal_time
from diffdash.compare.report import figures, require_matplotlib
from diffdash.compare.shared import EPOCH_COLUMNS, epoch_rows, read_config_safe, rows_to_csv, run_colour
from diffdash.study.findings import Finding, collect, sentences, table_markdown
from diffdash.study.spec import Study

COURSEWORK_EPOCHS = (1, 25, 50, 75, 100)
SCALE = 4  # forward-process strip: pixels per image pixel


@dataclass
class Figure:
    path: Path
    what: str
    coursework: str = ""  # e.g. "Figure 3"


LAST = 10**9  # an epoch past every run's: grids_figure then takes each run's newest grid


def nearest(available: list[int], targets: list[int]) -> dict[int, int]:
    """Each target epoch -> the nearest epoch that has grids (ties go to the earlier one)."""
    if not available:
        return {}
    return {t: min(available, key=lambda e: (abs(e - t), e)) for t in targets}


def build_study_report(
    study: Study, root: Path, out_dir: Path, epochs: list[int] | None = None, say: Callable[[str], None] = print
) -> list[Path]:
    findings = collect(study, root)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    try:
        written = write_report(study, findings, tmp, epochs, say)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{tmp.name}")
        out_dir.rename(old)
    tmp.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return [out_dir / p.relative_to(tmp) for p in written]


def write_report(study: Study, findings: list[Finding], folder: Path, epochs: list[int] | None, say) -> list[Path]:
    runs = [
        figures.ReportRun(f.run, f.name, run_colour(i), f.history, read_config_safe(f.run))
        for i, f in enumerate(findings)
    ]
    groups: dict[str, list[figures.ReportRun]] = {}
    for r, f in zip(runs, findings, strict=True):
        groups.setdefault(f.member.model, []).append(r)
    made: list[Figure] = []

    def add(fig: Figure) -> None:
        made.append(fig)
        say(f"  {fig.path.name}")

    # loss: the coursework's Figures 1, 2 (DDPM) and 9, 10 (cold), one per run
    for r, f in zip(runs, findings, strict=True):
        number = _number(f.member.model, groups[f.member.model].index(r), ddpm=(1, 2), cold=(9, 10))
        add(Figure(figures.loss_figure(r, folder / f"loss_{r.label}.png"), f"{r.label}: loss", number))
    add(Figure(figures.overlay_figure(runs, folder / "overlay.png"), "every run: loss by epoch and by images seen"))
    for model, members in groups.items():
        if len(members) > 1 and len(groups) > 1:
            number = "Figure 3" if model == "ddpm" else ""
            path = figures.overlay_figure(members, folder / f"overlay_{model}.png")
            add(Figure(path, f"{model} runs: loss by epoch and by images seen", number))
        elif len(members) > 1 and model == "ddpm":
            made[-1].coursework = "Figure 3"
    targets = sorted(set(epochs or study.report_epochs or COURSEWORK_EPOCHS))
    for model, members in groups.items():
        available = sorted({e for r in members for e, _ in r.run.samples()})
        chosen = nearest(available, targets)
        shown = nearest(sorted(set(chosen.values())), list(COURSEWORK_EPOCHS)) if model == "ddpm" else {}
        for epoch in sorted(set(chosen.values())):
            asked = [t for t, e in chosen.items() if e == epoch]
            number = ", ".join(f"Figure {4 + i}" for i, t in enumerate(COURSEWORK_EPOCHS) if shown.get(t) == epoch)
            path = figures.grids_figure(members, epoch, folder / f"grids_{model}_epoch_{epoch:04d}.png")
            note = "" if asked == [epoch] else f" (nearest to {', '.join(map(str, asked))})"
            add(Figure(path, f"{model} samples side by side at epoch {epoch}{note}", number))
    if any(r.history.evals for r in runs):
        fid = figures.fid_figure(runs, folder / "fid.png")
        add(Figure(fid, "FID (MNIST classifier) by epoch and by training time"))
    if sum(bool(r.run.samples()) for r in runs) > 1:  # runs stopped by --max-time end at different epochs
        last = figures.grids_figure(runs, LAST, folder / "grids_last.png", title="each run's newest samples")
        add(Figure(last, "each run's newest samples side by side (where its training ended)"))
    from diffdash.study.seed_groups import band_figure

    bands = band_figure(findings, folder)
    if bands is not None:
        add(Figure(bands, "seed groups: validation loss, mean ± 1 std over each group's seeds"))
    for r, f in zip(runs, findings, strict=True):
        if f.member.model == "cold":
            i = groups["cold"].index(r)
            made += _cold_figures(r, folder, i, say)
    csv_path = folder / "metrics.csv"
    rows = []
    for r in runs:
        rows += epoch_rows(r.run, r.label)
    csv_path.write_text(rows_to_csv(rows, EPOCH_COLUMNS), encoding="utf-8")
    index = folder / "index.md"
    index.write_text(index_md(study, findings, made), encoding="utf-8")
    return [f.path for f in made] + [csv_path, index]


def _number(model: str, i: int, *, ddpm: tuple[int, ...], cold: tuple[int, ...]) -> str:
    numbers = ddpm if model == "ddpm" else cold if model == "cold" else ()
    return f"Figure {numbers[i]}" if i < len(numbers) else ""


def _cold_figures(r: figures.ReportRun, folder: Path, i: int, say) -> list[Figure]:
    from PIL import Image

    out = []
    forward = r.run.samples_dir / "forward.png"
    if forward.is_file():
        with Image.open(forward) as img:
            target = folder / f"forward_{r.label}.png"
            img.resize((img.width * SCALE, img.height * SCALE), Image.NEAREST).save(target)
        out.append(Figure(target, f"{r.label}: the forward process D(x0, t) of one digit, t = 0..n_T"))
    for variant, what, numbers in (
        ("reconstruct", "reconstructions of held-out digits", (11, 12)),
        (None, "generated samples", (13, 14)),
    ):
        grids = r.run.samples(variant)
        if not grids:
            continue
        kind = variant or "generated"
        path = first_last_figure(r, grids[0], grids[-1], what, folder / f"{kind}_{r.label}.png")
        number = f"Figure {numbers[i]}" if i < len(numbers) else ""
        out.append(Figure(path, f"{r.label}: {what}, first and last epoch", number))
    for fig in out:
        say(f"  {fig.path.name}")
    return out


def first_last_figure(r: figures.ReportRun, first, last, what: str, path: Path) -> Path:
    """Two grids of one run side by side: a) the first epoch's, b) the last epoch's (the coursework's layout)."""
    plt = require_matplotlib()
    from PIL import Image

    pairs = [first] if first[0] == last[0] else [first, last]
    fig, axes = plt.subplots(1, len(pairs), figsize=(figures.GRID_PANEL * len(pairs), figures.GRID_PANEL + 0.6))
    axes = axes if len(pairs) > 1 else [axes]
    for ax, letter, (epoch, grid) in zip(axes, "ab", pairs, strict=False):
        with Image.open(grid) as img:
            ax.imshow(img.convert("L"), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{letter}) epoch {epoch}", fontsize=10)
    fig.suptitle(f"{r.label}:\n{what}", fontsize=10)  # two lines: one panel is narrow
    fig.tight_layout(rect=(0, 0, 1, 0.86))
    fig.savefig(path, dpi=figures.DPI)
    plt.close(fig)
    return path


def index_md(study: Study, findings: list[Finding], made: list[Figure]) -> str:
    lines = [f"# Study {study.name}", ""]
    if study.description:
        lines += [study.description, ""]
    lines += [f"From `{study.path}`.", "", "## Findings", "", table_markdown(findings), ""]
    lines += [
        "Digits covered: classes given at least 1 % of the generated samples by the MNIST classifier. "
        "FID (MNIST classifier) is biased by the number of samples n: compare at equal n.",
        "",
    ]
    equal = equal_time_text([f.name for f in findings], fid_at_equal_time([f.history for f in findings]))
    if equal and len(findings) > 1:
        lines += [equal, ""]
    said = sentences(findings)
    if said:
        lines += ["## Pairs that differ in one option", ""] + [f"- {s}" for s in said] + [""]
    from diffdash.study.seed_groups import group_markdown

    lines += group_markdown(findings)
    lines += ["## Figures", "", "| figure | what | coursework |", "|---|---|---|"]
    lines += [f"| [{f.path.name}]({f.path.name}) | {f.what} | {f.coursework or '-'} |" for f in made]
    lines += [""] + [f"![{f.path.stem}]({f.path.name})" for f in made]
    lines += ["", "Per-epoch metrics of every run: [metrics.csv](metrics.csv)", ""]
    return "\n".join(lines)
