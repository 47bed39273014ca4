"""Class conditioning (`--cond class`) with classifier-free guidance (Ho & Salimans 2022), torch-free.

`cond` is recorded in every run's config.json ("none" or "class"); `cond_drop` and `guidance` only in
conditional runs (their `applies_to` is "cond"). Guidance follows the paper's convention:
    eps = (1 + w) * eps(x, t, label) - w * eps(x, t, no label)
so w = 0 is the purely conditional model, and larger w trades variety for digits that look more like their
label.
"""

from __future__ import annotations

import math

from diffdash.options.option import Option

CONDS = ("none", "class")
NUM_CLASSES = 10  # MNIST's digits; the networks get one more embedding entry, the learned "no label"
COND_SECTION = "Class conditioning (--cond class, DDPM only)"
GUIDANCE_HELP = "w in (1+w)·eps(label) − w·eps(no label) (Ho & Salimans): 0 = purely conditional, 1–4 sharper"


def guidance_problem(value: object, what: str = "guidance") -> str | None:
    """Why a guidance scale is not allowed (one line), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"{what} must be a finite number, zero or above (e.g. 2), got {value}"
    if value < 0:
        return f"{what} must be zero or above (0 = purely conditional, e.g. 2), got {value}"
    return None


OPTIONS: tuple[Option, ...] = (
    Option(
        "cond", "str", "none",
        "Condition on the digit's class: none, or class (a label embedding added to the time embedding, with a "
        "learned 'no label' entry for classifier-free guidance).",
        choices=CONDS, what="conditioning", section=COND_SECTION,
    ),
    Option(
        "cond_drop", "float", 0.1, "Share of training labels replaced by 'no label' (what guidance needs).",
        "cond", section=COND_SECTION,
        valid=lambda v, _c: isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v < 1.0,
        rule="cond-drop must lie in [0, 1) (e.g. 0.1), got {value}",
    ),
    Option(
        "guidance", "float", 2.0, "Guidance scale of previews and --eval-every: " + GUIDANCE_HELP + ".",
        "cond", section=COND_SECTION, check=guidance_problem,
    ),
)  # fmt: skip


def parse_digit(text: str) -> int | str:
    """`--digit`: 0..9 or 'all'; ValueError with the one line to show otherwise."""
    if text.strip().lower() == "all":
        return "all"
    try:
        digit = int(text)
    except ValueError:
        raise ValueError(f"--digit takes a digit 0..9 or 'all', got {text!r}") from None
    if not 0 <= digit <= 9:
        raise ValueError(f"--digit takes a digit 0..9 or 'all', got {digit}")
    return digit


def parse_guidance_list(text: str) -> list[float]:
    """'0,1,2,4,8' -> [0.0, 1.0, 2.0, 4.0, 8.0]; ValueError with the one line to show for a bad entry."""
    values = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"--guidance takes numbers like 2 or 0,1,2,4,8, got {text!r}") from None
        problem = guidance_problem(value, "--guidance")
        if problem:
            raise ValueError(problem)
        values.append(value + 0.0)  # -0 is 0, in the table and in file names
    if len(set(values)) != len(values):
        raise ValueError(f"--guidance lists a value twice: {text}")
    return values


def not_conditional(run_id: str, flag: str) -> str:
    return f"{flag} needs a class-conditional run (train with --cond class); run {run_id} is unconditional"
