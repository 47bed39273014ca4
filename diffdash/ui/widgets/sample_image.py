"""A sample grid PNG drawn in the terminal with textual-image, with a caption, sized to fit its box.

textual-image chooses sixel/kitty/half-cell when `textual_image.widget` is first imported (it asks the
terminal), so `image_class` must be called before the Textual app starts. The widget computes its
own size in cells (one cell = 1x2 pixels of the picture, a square grid) and gives textual-image
integer sizes, so the half-cell and unicode renderings do not depend on the terminal's pixel size:
snapshots are stable. Only the current grid is held in memory; the file is closed after decoding.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.widget import Widget
from textual.widgets import Static

from diffdash.ui import IMAGE_MODES


def image_class(mode: str = "auto") -> type[Widget]:
    """The textual-image widget class for an --image-mode."""
    if mode not in IMAGE_MODES:
        raise ValueError(f"unknown image mode {mode!r}: choose one of {', '.join(IMAGE_MODES)}")
    from textual_image import widget as ti

    return {
        "auto": ti.Image,
        "sixel": ti.SixelImage,
        "kitty": ti.TGPImage,
        "halfcell": ti.HalfcellImage,
        "unicode": ti.UnicodeImage,
    }[mode]


def sixel_tmux_warning(mode: str) -> str | None:
    """tmux drops sixel output unless it was built with sixel support: say so instead of drawing nothing."""
    if mode == "sixel" and os.environ.get("TMUX"):
        return (
            "--image-mode sixel inside tmux: grids show only if tmux was built with sixel support (tmux 3.4+ "
            "configured with --enable-sixel); otherwise use --image-mode halfcell"
        )
    return None


def load_image(path: str | Path):
    """Decode a PNG fully and close the file (an open handle per grid would leak over a long run)."""
    from PIL import Image

    with Image.open(path) as img:
        return img.convert("RGB")


class SampleImage(Vertical):
    """Caption on top, the picture centred below; `show(path, caption)` swaps the picture.

    It can be maximized (Textual's Screen.maximize): the picture then refits to the whole screen.
    """

    ALLOW_MAXIMIZE = True

    DEFAULT_CSS = """
    SampleImage { width: 1fr; height: 1fr; }
    SampleImage > .caption { height: 1; width: 1fr; text-style: bold; content-align: center middle; }
    SampleImage > Center { height: 1fr; }
    SampleImage .placeholder { height: 1fr; width: 1fr; content-align: center middle; color: $text-muted; }
    """

    def __init__(
        self,
        mode: str = "auto",
        *,
        placeholder: str = "no grid yet",
        image_cls: type[Widget] | None = None,
        crop_small: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ):
        super().__init__(name=name, id=id, classes=classes)
        self.image_cls = image_cls or image_class(mode)
        self.placeholder = placeholder
        self.path: Path | None = None
        self.crop_small = crop_small  # too small for the whole grid: show its first 2x2 digits, larger
        self.cropped = False
        self.digits = 0
        self._full = None
        self._caption = Static("", classes="caption")
        self._caption_text = ""
        self._caption_shown = ""
        self._empty = Static(placeholder, classes="placeholder")
        self._picture = self.image_cls()
        self._picture.display = False

    def compose(self) -> ComposeResult:
        yield self._caption
        yield self._empty
        with Center():
            yield self._picture

    def show(self, path: str | Path | None, caption: str = "") -> None:
        """Draw the PNG at `path` (None: the placeholder). Re-reading the same unchanged path is skipped."""
        if caption != self._caption_text:
            self._caption_text = caption
            self._update_caption()
        if path is None:
            self.path = None
            self._picture.image = None
            self._picture.display = False
            self._empty.display = True
            return
        path = Path(path)
        if path == self.path:
            return
        try:
            picture = load_image(path)
        except (OSError, ValueError) as exc:
            self._empty.update(f"cannot read {path.name}: {exc}")
            return
        self.path = path
        self._full = picture
        self._picture.image = picture
        self.cropped = False
        self._empty.display = False
        self._picture.display = True
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def refit(self) -> None:
        """Fit again now (a tab that shows it again may not resize it)."""
        self._fit()

    def _fit(self) -> None:
        """Largest picture of the grid's own shape that fits: width w cells by w·(h/w)/2 rows, a cell being 1x2
        pixels (a square grid: w by w/2; a class-conditional run's 10 rows of 4 are taller than wide)."""
        avail_w = max(self.size.width, 1)
        avail_h = max(self.size.height - 1, 1)  # the caption line
        ratio = self._full.size[1] / self._full.size[0] if self._full is not None else 1.0  # height / width
        cols = max(min(avail_w, int(2 * avail_h / ratio)), 2)
        self._picture.styles.width = cols
        self._picture.styles.height = max(int(cols * ratio) // 2, 1)
        if self.crop_small and self._full is not None:
            digits = grid_digits(self._full.size)
            crop = digits >= 3 and cols < MIN_DIGIT_CELLS * digits
            self.digits = digits
            if crop != self.cropped:
                self.cropped = crop
                side = GRID_PAD + 2 * (DIGIT + GRID_PAD)
                self._picture.image = self._full.crop((0, 0, side, side)) if crop else self._full
                self._update_caption()

    def _update_caption(self) -> None:
        text = self._caption_text + (f" · 4/{self.digits**2} digits" if self.cropped else "")
        if text != self._caption_shown:
            self._caption_shown = text
            self._caption.update(text)


DIGIT, GRID_PAD = 28, 2  # a preview grid: 28-pixel digits with 2 pixels between them (diffdash/mnist/grids.py)
MIN_DIGIT_CELLS = 8  # below this many cells a digit, a small grid shows 2x2 of its digits instead


def grid_digits(size: tuple[int, int]) -> int:
    """Digits per side of a square preview grid of this pixel size (0: not one)."""
    w, h = size
    side, rest = divmod(w - GRID_PAD, DIGIT + GRID_PAD)
    return side if w == h and rest == 0 else 0
