"""The Textual apps (dashboard, watch, compare). Nothing here imports textual at package import, so the
CLI can read IMAGE_MODES without paying for it."""

IMAGE_MODES = ("auto", "sixel", "kitty", "halfcell", "unicode")
