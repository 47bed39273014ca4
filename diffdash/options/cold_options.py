"""The cold-diffusion options, each declared once as an `Option` of the run's option table (options/table.py).

`RunConfig` takes its cold fields from here, `validate` checks them here, and `diffdash new` builds its
`--kernel-size`, `--mask-std`, ... options from here. Torch-free. A degradation's options name it in
`applies_to`; the ones the cold process itself reads (the loss, the generation prior) say "cold". The values
users may pass are also what the degradation modules accept (they import their choices from here: the
degradations build on the table, never the other way round but for the lazy look-up of their names).
"""

from __future__ import annotations

import math
from typing import Any

from diffdash.options.option import Option

BLUR_SCHEDULES = ("even", "constant", "growing", "linear")
PADDINGS = ("circular", "reflect", "zero")
MASK_PLACES = ("centre", "random")
PIXELATE_SIZES = (1, 2, 4, 7, 14)
FADE_TARGETS = ("black", "mean")
LOSSES = ("l1", "l2")


def _degradation_names() -> tuple[str, ...]:
    from diffdash.degradations import names

    return names()


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


OPTIONS: tuple[Option, ...] = (
    Option(
        "degradation", "str", "blur", "Cold: blur, mask, pixelate or fade (any module in diffdash/degradations).",
        "cold", choices=_degradation_names, what="degradation",
    ),
    Option(
        "kernel_size", "int", 11, "Blur: odd kernel size, 1..27.", "blur",
        valid=lambda k, _c: isinstance(k, int) and 1 <= k <= 27 and k % 2 == 1,
        rule="kernel size must be an odd whole number from 1 to 27, got {value}",
    ),
    Option(
        "kernel_std", "float", 7.0, "Blur: kernel σ per step.", "blur",
        valid=lambda v, _c: _finite(v) and v > 0, rule="kernel std (σ) must be positive, got {value}",
    ),
    Option(
        "blur_schedule", "str", "even",
        "Blur: even (σ per step chosen so the digits' variance falls by equal amounts down to the final blur of "
        "n_T constant steps), constant (σ each step), growing (σ·t, the coursework's) or linear (total σ grows as "
        "σ·t).",
        "blur", choices=BLUR_SCHEDULES, what="blur schedule",
    ),
    Option(
        "padding", "str", "circular", "Blur: circular, reflect or zero.", "blur", choices=PADDINGS, what="padding"
    ),
    Option(
        "mask_std", "float", 12.0, "Mask: final hole σ, pixels.", "mask",
        valid=lambda v, _c: _finite(v) and 0 < v <= 56, rule="mask std must lie in (0, 56] pixels, got {value}",
    ),
    Option(
        "mask_place", "str", "centre", "Mask: hole at centre or random.", "mask", choices=MASK_PLACES,
        what="mask place",
    ),
    Option(
        "pixelate_min", "int", 4, "Pixelate: final size 1,2,4,7,14.", "pixelate",
        valid=lambda v, _c: v in PIXELATE_SIZES, rule="pixelate size must be one of 1, 2, 4, 7, 14, got {value}",
    ),
    Option(
        "fade_to", "str", "black", "Fade: toward black or the mean.", "fade", choices=FADE_TARGETS, what="fade target"
    ),
    Option("loss", "str", "l1", "Cold: restorer loss l1 or l2.", "cold", choices=LOSSES, what="loss"),
    Option(
        "prior_t", "int | None", None,
        "Cold: generation starts at t* [default: the most degraded t keeping 5% of the digits' variance].", "cold",
        valid=lambda v, c: v is None or 1 <= v <= c.n_T, rule="prior t must lie in 1..n-T ({n_T}), got {value}",
    ),
    Option(
        "prior_components", "int", 10, "Cold prior: mixture size.", "cold",
        valid=lambda v, _c: v >= 1, rule="prior components must be at least 1, got {value}",
    ),
    Option(
        "gen_noise", "float", 0.0, "Cold: noise σ per step.", "cold",
        valid=lambda v, _c: _finite(v) and v >= 0, rule="gen noise must be zero or positive, got {value}",
    ),
)  # fmt: skip
