"""`diffdash study report` for a search: Optuna's own figures (optimization history, parameter importances,
parallel coordinates, drawn with its matplotlib backend), the trials' validation loss overlaid, the best
trial's settings as a runnable `diffdash new` line, and the table of trials, the best first.

Written to a temporary folder and renamed into place, as the study report is.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from diffdash.formats import format_loss, format_seconds
from diffdash.study.search_status import TrialRow, trial_rows
from diffdash.study.search_trials import describe, open_search
from diffdash.study.spec import Study

FIG_SIZE = (8.0, 5.0)
DPI = 100


def build_search_report(study: Study, root: Path, out_dir: Path, say: Callable[[str], None] = print) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        written = write_search_report(study, root, tmp, say)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.chmod(0o755)
    tmp.rename(out_dir)
    return [out_dir / p.relative_to(tmp) for p in written]


def write_search_report(study: Study, root: Path, folder: Path, say: Callable[[str], None]) -> list[Path]:
    rows = trial_rows(study, root)
    ostudy = open_search(study, root, create=False)
    figures: list[tuple[Path, str]] = []
    for name, what, draw in (
        ("history.png", "optimization history: each trial's value and the best so far", _history),
        ("importances.png", "parameter importances (fANOVA over the finished trials)", _importances),
        ("parallel.png", "parallel coordinates: each trial's parameters, coloured by its value", _parallel),
        ("intermediate.png", f"each trial's {study.search.metric} by epoch (pruned trials stop early)", _curves),
    ):
        path = folder / name
        problem = draw(ostudy, path, study.search.metric)
        if problem:
            say(f"  {name}: not drawn ({problem})")
            continue
        figures.append((path, what))
        say(f"  {name}")
    index = folder / "index.md"
    index.write_text(index_md(study, root, rows, figures), encoding="utf-8")
    return [p for p, _ in figures] + [index]


def _finished(ostudy) -> list:
    import optuna

    return [t for t in ostudy.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]


def _save(ax, path: Path, title: str | None = None) -> None:
    fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
    fig.set_size_inches(*FIG_SIZE)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    import matplotlib.pyplot as plt

    plt.close(fig)


def _quiet():
    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    from optuna.visualization import matplotlib as vis

    return vis


def _history(ostudy, path: Path, name: str) -> str | None:
    if not _finished(ostudy):
        return "no trial finished yet"
    _save(_quiet().plot_optimization_history(ostudy, target_name=name), path)
    return None


def _importances(ostudy, path: Path, name: str) -> str | None:
    finished = _finished(ostudy)
    if len(finished) < 2:
        return "needs two finished trials"
    try:
        ax = _quiet().plot_param_importances(ostudy, target_name=name)
    except (RuntimeError, ValueError, ZeroDivisionError) as exc:
        return str(exc)
    _save(ax, path)
    return None


def _parallel(ostudy, path: Path, name: str) -> str | None:
    if not _finished(ostudy):
        return "no trial finished yet"
    _save(_quiet().plot_parallel_coordinate(ostudy, target_name=name), path)
    return None


def _curves(ostudy, path: Path, name: str) -> str | None:
    if not any(t.intermediate_values for t in ostudy.get_trials(deepcopy=False)):
        return "no epoch reported yet"
    ax = _quiet().plot_intermediate_values(ostudy)
    ax.set_xlabel("epoch")
    ax.set_ylabel(name)
    _save(ax, path)
    return None


def new_command_line(study: Study, row: TrialRow) -> str:
    """The best trial as a `diffdash new` line anyone can paste (its options, the defaults included)."""
    return shlex.join(["diffdash", "new", *row.info.member.argv, "--name", f"{study.name}-best"])


def index_md(study: Study, root: Path, rows: list[TrialRow], figures: list[tuple[Path, str]]) -> str:
    spec = study.search
    lines = [f"# Search {study.name}", ""]
    if study.description:
        lines += [study.description, ""]
    space = "; ".join(f"{p.key} {p.describe()}" for p in spec.params)
    lines += [
        f"From `{study.path}`: {spec.trials} trials, {spec.sampler} sampler, {spec.direction} {spec.metric}, "
        f"pruner {spec.pruner}. Searched: {space}.",
        "",
    ]
    complete = [t for t in rows if t.info.state == "complete"]
    if complete:
        best = complete[0]
        lines += [
            "## Best trial",
            "",
            f"{best.row.member} ({best.info.member.run_id}): {spec.metric} {format_loss(best.info.value)} "
            f"with {describe(best.info.params)}. To train it again:",
            "",
            "```",
            new_command_line(study, best),
            "```",
            "",
        ]
    lines += ["## Trials (the best first)", ""]
    lines += ["| trial | state | epochs | value | best val @ epoch | parameters | time |", "|---" * 7 + "|"]
    for t in rows:
        r = t.row
        best_val = f"{format_loss(r.best_val)} @ {r.best_epoch}" if r.best_val is not None else "-"
        value = format_loss(t.info.value) if t.info.value is not None else "-"
        lines.append(
            f"| {r.member} | {t.state_text()} | {r.epoch}/{r.epochs} | {value} | {best_val} "
            f"| {describe(t.info.params)} | {format_seconds(r.seconds, '?')} |"
        )
    lines += ["", "A pruned trial's value is its last reported one, at the epoch it was stopped.", ""]
    lines += ["## Figures", ""] + [f"- [{p.name}]({p.name}): {what}" for p, what in figures]
    lines += [""] + [f"![{p.stem}]({p.name})" for p, _ in figures] + [""]
    return "\n".join(lines)
