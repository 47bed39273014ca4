"""Output paths given on the command line, checked before any work: exit 2 with one line for a path that is
not a regular file (a device, FIFO, folder, or a symlink to one) or cannot be written there (/proc, a
read-only folder), instead of a replaced device node, a hang or a traceback after minutes of sampling."""

from __future__ import annotations

from pathlib import Path

import click

from diffdash.fsutil import NotRegularFile, check_output_path


def refused(path: Path, exc: OSError, param: str) -> click.BadParameter:
    if isinstance(exc, NotRegularFile):
        return click.BadParameter(str(exc), param_hint=param)
    return click.BadParameter(f"cannot write {path} ({exc.strerror or exc})", param_hint=param)


def check_output(path: Path, param: str = "--output", folder: bool = False) -> None:
    """Exit 2 unless `path` can be written (a new or regular file; `folder`: a new or existing folder)."""
    try:
        check_output_path(path, folder=folder)
    except OSError as exc:
        raise refused(path, exc, param) from None
