"""A footer that shows only whole keys: on a narrow terminal it leaves keys out instead of cutting one.

Textual's Footer lays its keys in one row and docks the command palette's key on the right, over whatever
does not fit: at 80 or 60 columns that left pieces of labels ("^p paletteh") and hid the app's own keys
(`f`) behind the chart's. This one hides whole keys until the rest fits beside the palette's key, the
ones named in `drop_first` (the chart's keys, which the palette and `?` also list) before the others.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


def key_width(key: FooterKey) -> int:
    """Cells a key takes in a compact footer: its key, a space and its description, then a margin."""
    description = f" {key.description}" if key.description else ""
    return cell_len(key.key_display) + cell_len(description) + 1


class FittingFooter(Footer):
    def __init__(self, *, drop_first: Iterable[str] = (), compact: bool = True, **kw) -> None:
        super().__init__(compact=compact, **kw)
        self.drop_first = set(drop_first)
        self.hidden_actions: list[str] = []  # what the last fit left out (tests, and to say it in help)

    async def recompose(self) -> None:
        await super().recompose()
        self.fit()

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        width = self.size.width
        if not width:
            return
        keys = list(self.query(FooterKey))
        palette = [k for k in keys if k.has_class("-command-palette")]
        keys = [k for k in keys if k not in palette]
        room = width - sum(key_width(k) + 1 for k in palette)  # the palette's key has a border on its left
        order = [k for k in reversed(keys) if k.action in self.drop_first]
        order += [k for k in reversed(keys) if k.action not in self.drop_first]
        used = sum(key_width(k) for k in keys)
        hidden = set()
        for k in order:
            if used <= room:
                break
            hidden.add(k)
            used -= key_width(k)
        for k in keys:
            k.display = k not in hidden
        self.hidden_actions = [k.action for k in keys if k in hidden]
