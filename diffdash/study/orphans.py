"""Run folders of a study that no member of its file names any more, and what changed.

A member's run folder is named from its options (`<study>-lr0.0001`), so adding a key to `[grid]` renames
every member (`lr0.0001_batch-size64`): without a word, `study status` would show the new names as
pending and the finished runs would be left out. This finds the study's folders that no member names
(config.json says the study; study.json keeps the options the file gave), and for each the closest
member of the file now and the options that differ. A folder whose options all agree with a not-yet
started member's, where both set them, was "renamed" by an added or removed key: `study run` refuses to
train that member as new unless told to (--restart-changed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffdash.store import RunDir, list_run_dirs
from diffdash.study.members import NOT_CHANGES, _norm, _show, read_tag
from diffdash.study.spec import Member, Study


@dataclass
class Orphan:
    run: RunDir
    state: str
    epoch: int
    old_member: str  # its name in the file when it was started
    closest: Member | None = None  # the member of the file now whose options differ least
    changes: list[str] = field(default_factory=list)  # "key: X in the run, Y in the file"
    renamed: bool = False  # no key both set differs (only added or removed ones): the file's edit renamed it

    def describe(self) -> str:
        where = f"{self.run.id} ({self.state}, epoch {self.epoch})"
        if self.closest is None:
            return f"{where}: no run of the file has its options any more"
        changes = "; ".join(self.changes) or "the same options under a new name"
        if self.renamed:
            return f"{where} is now {self.closest.name} in the file: {changes}"
        return f"{where}: no run of the file has its options now (the closest, {self.closest.name}: {changes})"


def _options(member_options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in member_options.items() if k not in NOT_CHANGES}


def _changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], bool]:
    """(differences, renamed): renamed when every key both set agrees (only added or removed keys differ)."""
    out, shared_differs = [], False
    for key in dict.fromkeys([*old, *new]):
        have, want = old.get(key, "(default)"), new.get(key, "(default)")
        if _norm(have) != _norm(want):
            out.append(f"{key}: {_show(have)} in the run, {_show(want)} in the file")
            shared_differs |= key in old and key in new
    return out, not shared_differs


def find_orphans(root: Path, study: Study) -> list[Orphan]:
    """The study's run folders that no member of the file names, each with its closest member now."""
    if getattr(study, "search", None) is not None:  # a search's trials are not members of the file
        return []
    names = {m.run_id for m in study.members}
    out = []
    for run in list_run_dirs(root):
        if run.id in names or run.study_name() != study.name:
            continue
        tag = read_tag(run)
        try:
            status = run.read_status()
        except (OSError, ValueError):
            status = {}
        status = status if isinstance(status, dict) else {}
        orphan = Orphan(run, str(status.get("state") or "crashed"), int(status.get("epoch") or 0),
                        str(tag.get("member")) if tag else run.id)  # fmt: skip
        if tag is not None:
            old = _options(tag["options"])
            scored = []
            for m in study.members:
                changes, renamed = _changes(old, _options(m.options))
                scored.append((not renamed, len(changes), m, changes, renamed))
            if scored:
                _, _, orphan.closest, orphan.changes, orphan.renamed = min(scored, key=lambda s: (s[0], s[1]))
        out.append(orphan)
    return out


def renamed_members(root: Path, orphans: list[Orphan]) -> list[Orphan]:
    """The orphans whose closest member was renamed by the edit and has no folder yet (it would start anew)."""
    return [o for o in orphans if o.renamed and o.closest and not (Path(root) / o.closest.run_id).exists()]
