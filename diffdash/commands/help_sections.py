"""`--help` with options in titled sections: `new` has some forty, and the cold-diffusion ones apply to one model."""

from __future__ import annotations

import click

from diffdash.options.table import COLD_SECTION, OPTIONS, SECTIONS


def _table_sections() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The run options' sections as the option table groups them, with the display flags before the cold ones."""
    grouped = [(title, tuple(o.name for o in OPTIONS if o.help_section == title)) for title in SECTIONS[1:]]
    display = ("Display", ("headless", "progress_every", "image_mode", "tensorboard"))
    cold = [g for g in grouped if g[0] == COLD_SECTION]
    return (*[g for g in grouped if g[0] != COLD_SECTION], display, *cold)


NEW_SECTIONS = _table_sections()


class SectionedCommand(click.Command):
    """Options not named in `sections` stay under "Options", first."""

    sections: tuple[tuple[str, tuple[str, ...]], ...] = NEW_SECTIONS

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            title = next((t for t, names in self.sections if param.name in names), "Options")
            rows.setdefault(title, []).append(record)
        for title in ("Options", *(t for t, _ in self.sections)):
            if rows.get(title):
                with formatter.section(title):
                    formatter.write_dl(rows[title])
