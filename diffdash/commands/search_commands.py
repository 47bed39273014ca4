"""`diffdash study status|report FILE` for a study with a [search] table: the trials, the best first."""

from __future__ import annotations

import json
from pathlib import Path

import click


def require_optuna() -> None:
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise click.ClickException("a [search] needs Optuna: pip install 'diffdash[search]'") from None


def refused_as_usage(read, study, root: Path):
    """`read(study, root)`, or exit 2 with one line when the search's storage is damaged."""
    from diffdash.study.runner import StudyRefused

    try:
        return read(study, root)
    except StudyRefused as exc:
        raise click.UsageError(str(exc)) from None


def search_status(study, file: Path, root: Path, as_json: bool) -> None:
    from diffdash.study.search_status import summary_line, table, trial_rows

    require_optuna()
    rows = refused_as_usage(trial_rows, study, root)
    if as_json:
        out = {"study": study.name, "file": str(file), "runs_dir": str(root), "search": True}
        out["trials"] = [t.to_dict() for t in rows]
        click.echo(json.dumps(out, indent=2))
        return
    if rows:
        click.echo(table(rows))
    else:
        click.echo(f"no trial yet: `diffdash study run {file}` starts the search")
    click.echo(summary_line(study, rows))


def search_report(study, file: Path, root: Path, output: Path) -> None:
    from diffdash.compare.report import MatplotlibMissing, require_matplotlib
    from diffdash.study.search_trials import read_trials

    require_optuna()
    trials = refused_as_usage(read_trials, study, root)
    if not trials:
        raise click.UsageError(f"no trial of search {study.name!r} in {root}: run `diffdash study run {file}` first")
    try:
        require_matplotlib()
    except MatplotlibMissing as exc:
        raise click.ClickException(str(exc)) from None
    from diffdash.study.search_report import build_search_report

    click.echo(f"writing the report of search {study.name} ({len(trials)}/{study.search.trials} trials) to {output}")
    files = build_search_report(study, root, output, say=click.echo)
    click.echo(f"wrote {len(files)} files; open {output / 'index.md'}")
