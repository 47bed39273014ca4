"""`diffdash sample` beside the PNG: the grid drawn in the terminal, and a fresh file name instead of a refusal."""

from __future__ import annotations

import shutil
import sys
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
