"""A study report's seed groups: the runs one member's `seeds` made, drawn as a mean with a band, with mean ±
std of best validation loss and FID, and a sentence for each pair of groups that differ in one option saying
whether their difference exceeds the spread between seeds.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

from diffdash.compare.bands import BAND_LABELS, Group, GroupRun, bands_figure, spread_sentence, summary_rows
from diffdash.study.findings import Finding

IGNORED = ("seed", "epochs")


def seed_groups(findings: list[Finding]) -> list[Group]:
    out: dict[str, Group] = {}
    for f in findings:
        if f.member.group:
            out.setdefault(f.member.group, Group(f.member.group, [])).runs.append(GroupRun(f.name, f.history))
    return list(out.values())


def _options(findings: list[Finding], group: str) -> dict[str, Any]:
    member = next(f.member for f in findings if f.member.group == group)
    return {k: v for k, v in member.options.items() if k not in IGNORED}


def group_pairs(findings: list[Finding], groups: list[Group]) -> list[tuple[Group, Group]]:
    """Pairs of groups whose options differ in exactly one key (the seeds aside); every pair when none do."""
    pairs = []
    for a, b in combinations(groups, 2):
        oa, ob = _options(findings, a.name), _options(findings, b.name)
        if len([k for k in dict.fromkeys([*oa, *ob]) if oa.get(k) != ob.get(k)]) == 1:
            pairs.append((a, b))
    return pairs or list(combinations(groups, 2))


def band_figure(findings: list[Finding], folder: Path, band: str = "std") -> Path | None:
    groups = seed_groups(findings)
    if not groups:
        return None
    return bands_figure(groups, folder / "seeds_bands.png", band)


def group_markdown(findings: list[Finding], band: str = "std") -> list[str]:
    groups = seed_groups(findings)
    if not groups:
        return []
    rows = summary_rows(groups)
    lines = ["## Seed groups", "", "| " + " | ".join(rows[0]) + " |", "|---" * len(rows[0]) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    lines += ["", f"[seeds_bands.png](seeds_bands.png): each group's validation loss, {BAND_LABELS[band]}.", ""]
    for a, b in group_pairs(findings, groups):
        lines.append(f"- **{a.name}** vs **{b.name}**: {spread_sentence(a, b)} {spread_sentence(a, b, 'fid')}")
    return lines + [""]
