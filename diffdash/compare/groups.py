"""`diffdash compare RUN... --group-by KEY`: the runs grouped by a config value (or `group`, the seed group a
study recorded in each run's study.json), each group's mean ± std of best validation loss and FID, a sentence
for each pair of groups saying whether their difference exceeds their spread, and optionally the groups'
validation curves as mean with a band in a PNG. Plain Python on the run folders; no UI.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

from diffdash.compare.bands import (
    BAND_LABELS,
    Group,
    GroupRun,
    bands_figure,
    group_by_key,
    spread_sentence,
    summary_rows,
)
from diffdash.compare.shared import align, read_config_safe, run_label
from diffdash.runs.history import read_history
from diffdash.store import RunDir

SEED_GROUP = "group"  # the key that means "the seed group a study gave the run"


def keyed_config(run: RunDir, config: dict, key: str) -> dict:
    """The run's config, with `group` (its study seed group, else its member name or id) when that is the key."""
    config = dict(config)
    if key == SEED_GROUP:
        tag = run.read_study_tag() or {}
        config[SEED_GROUP] = tag.get("group") or tag.get("member") or run.id
    return config


def group_runs(runs: list[RunDir], key: str) -> list[Group]:
    """The runs grouped by `key`; KeyError(key) when no run's config (or study.json, for `group`) has it."""
    members = []
    for run in runs:
        config = keyed_config(run, read_config_safe(run), key)
        members.append(GroupRun(run_label(run, config), read_history(run), config))
    if not any(key in m.config for m in members):
        raise KeyError(key)
    return group_by_key(members, key)


def groups_text(groups: list[Group], band: str) -> str:
    lines = align(summary_rows(groups))
    lines.append("")
    for g in groups:
        lines.append(f"{g.name}: {', '.join(r.label for r in g.runs)}")
    pairs = list(combinations(groups, 2))
    if pairs:
        lines.append("")
    for a, b in pairs:
        lines.append(f"{a.name} vs {b.name}: {spread_sentence(a, b)} {spread_sentence(a, b, 'fid')}")
    lines += ["", f"spread: the standard deviation over a group's runs; a figure's band is {BAND_LABELS[band]}"]
    return "\n".join(lines) + "\n"


def write_bands(groups: list[Group], path: Path, band: str) -> Path:
    return bands_figure(groups, Path(path), band)
