"""Tags: short words a person attaches to a run (`diffdash tag RUN baseline lr-sweep`).

They live in the run folder, in tags.json (a JSON list, written atomically), so the folder stays the one
source of truth: `runs --tag`, compare's `/` filter and copies of the folder all see the same tags.
No torch, no UI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from diffdash.fsutil import atomic_write_json
from diffdash.store import RunDir

TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,39}$")


class TagError(ValueError):
    """A word that cannot be a tag (the message says which and why)."""


def tags_path(run: RunDir) -> Path:
    return run.tags_path


def read_tags(run: RunDir) -> list[str]:
    """The run's tags in the order they were added; a missing or damaged file reads as no tags."""
    try:
        data = json.loads(tags_path(run).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [t for t in data if isinstance(t, str)] if isinstance(data, list) else []


def check_tag(word: str) -> str:
    if not TAG_RE.match(word):
        raise TagError(
            f"{word!r} is not a tag: use 1-40 letters, digits or . _ : + - (starting with a letter or digit)"
        )
    return word


def add_tags(run: RunDir, words: Iterable[str]) -> list[str]:
    """Add the words not already there; returns the run's tags after the change."""
    tags = read_tags(run)
    for word in words:
        if check_tag(word) not in tags:
            tags.append(word)
    atomic_write_json(tags_path(run), tags)
    return tags


def remove_tags(run: RunDir, words: Iterable[str]) -> tuple[list[str], list[str]]:
    """Remove the words; returns (tags after, words that were not tags of the run)."""
    tags = read_tags(run)
    words = list(words)
    missing = [w for w in words if w not in tags]
    tags = [t for t in tags if t not in words]
    if tags:
        atomic_write_json(tags_path(run), tags)
    else:
        tags_path(run).unlink(missing_ok=True)
    return tags, missing


def matches(query: str, name: str, tags: Iterable[str]) -> bool:
    """Compare's `/` filter: every space-separated word is in the name or is (a prefix of) a tag."""
    name = name.lower()
    lowered = [t.lower() for t in tags]
    return all(w in name or any(t.startswith(w) for t in lowered) for w in query.lower().split())
