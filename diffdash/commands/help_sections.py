"""`--help` with options in titled sections: `new` has some forty, and the cold-diffusion ones apply to one model."""

from __future__ import annotations

import click

from diffdash.config import COLD_FIELDS

NEW_SECTIONS = (
    ("Previews and sample quality", ("sample_every", "sampler", "sample_steps", "ema", "preview_weights",
                                     "eval_every", "eval_n", "keep_snapshots")),
    ("Display", ("headless", "progress_every", "image_mode", "tensorboard")),
    ("Cold diffusion only (--model cold)", COLD_FIELDS),
)  # fmt: skip


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
