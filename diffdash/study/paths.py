"""Paths a study file may give its runs (`tensorboard = "tb"`): a study shared as a file must not write
wherever it likes, so a path is relative and stays below the folder it is resolved in (no `..` out of it, no
absolute path), as `runs_dir` is refused outright."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

OUTPUT_PATH_OPTIONS = ("tensorboard",)


def path_problem(value: Any) -> str | None:
    """Why `value` may not be a study's output path, or None."""
    if not isinstance(value, str) or not value.strip():
        return None  # the option's own check says what is wrong with it
    path = PurePath(value)
    if path.is_absolute() or value.startswith("~"):
        return f'{value!r} is outside the study\'s folder: give a folder inside it, e.g. "tb"'
    if ".." in path.parts:
        return f"{value!r} leads out of the study's folder ('..'): give a folder inside it, e.g. \"tb\""
    return None


def check_output_paths(options: dict[str, Any], origin: dict[str, str]) -> tuple[str, str] | None:
    """(key in the file, message) for the first output path that leaves the study's folder, else None."""
    for key in OUTPUT_PATH_OPTIONS:
        problem = path_problem(options.get(key))
        if problem:
            return origin.get(key, key), problem
    return None
