"""`diffdash sample` beside the PNG: the grid drawn in the terminal, and a fresh file name instead of a refusal."""

from __future__ import annotations

import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

RENDERABLES = {"halfcell": "HalfcellImage", "unicode": "UnicodeImage", "sixel": "SixelImage", "kitty": "TGPImage"}


def fresh_path(path: Path) -> Path:
    """`grid.png` if free, else `grid-2.png`, `grid-3.png` … (the first that does not exist)."""
    if not path.exists():
        return path
    k = 2
    while (candidate := path.with_name(f"{path.stem}-{k}{path.suffix}")).exists():
        k += 1
    return candidate


def write_fresh(path: Path, write: Callable[[Path], object]) -> Path:
    """`write` a file to a temporary name beside `path`, then give it `path` or, when that exists by then
    (another `sample -o` with the same name, or a file the user made while this one sampled), the first free
    fresh name: a hard link never replaces a name, so two writers never overwrite each other."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        candidate = path
        while True:
            try:
                os.link(tmp, candidate)
                return candidate
            except FileExistsError:
                candidate = fresh_path(path)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK):
                    raise
                os.replace(tmp, candidate)  # no hard links here (FAT, some FUSE): the name checked just before
                return candidate
    finally:
        tmp.unlink(missing_ok=True)


def show_grid(path: Path, mode: str = "auto", force: bool = False) -> bool:
    """Draw the PNG in the terminal (sixel or kitty where it has them, half-cell blocks otherwise).

    Only on a terminal unless `force`; at most 64 columns wide and as tall as the window allows.
    Returns whether something was drawn.
    """
    if not (force or sys.stdout.isatty()):
        return False
    from rich.console import Console
    from textual_image import renderable

    cls = renderable.Image if mode == "auto" else getattr(renderable, RENDERABLES[mode])
    cols, rows = shutil.get_terminal_size((80, 24))
    width = max(min(cols - 2, 64, 2 * (rows - 4)), 8)  # a half-cell is 1x2 pixels: a square grid is w x w/2
    Console().print(cls(str(path), width=width, height=width // 2))
    return True
