"""`--digit` and `--guidance` of `sample`: checked against the run (exit 2, one line), then the labels to draw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diffdash.commands.common import bad
from diffdash.options.cond_options import guidance_problem, not_conditional, parse_digit


@dataclass
class ClassChoice:
    digit: int | str  # 0..9 or "all"
    guidance: float

    @property
    def suffix(self) -> str:
        """What the default output name adds: '-digit7-g3' or '-digitall-g0'."""
        return f"-digit{self.digit}-g{self.guidance:g}"

    def describe(self) -> str:
        shown = "one row per digit" if self.digit == "all" else f"digit {self.digit}"
        return f"{shown}, guidance {self.guidance:g}"

    def labels(self, n: int) -> Any:
        """The n labels to draw: n // 10 of each digit in rows (--digit all), else n of the one digit."""
        import torch

        from diffdash.diffusion.guided import digit_rows

        if self.digit == "all":
            return digit_rows(n // 10)
        return torch.full((n,), int(self.digit), dtype=torch.long)


def class_options(run: Any, config: Any, digit: str | None, guidance: float | None) -> ClassChoice | None:
    """The digit and guidance to sample a class-conditional run with (its own guidance unless given); None for an
    unconditional run, which refuses both flags."""
    if getattr(config, "cond", "none") == "none":
        for flag, value in (("digit", digit), ("guidance", guidance)):
            if value is not None:
                raise bad(flag, not_conditional(run.id, f"--{flag}"))
        return None
    try:
        chosen = parse_digit(digit) if digit is not None else "all"
    except ValueError as exc:
        raise bad("digit", str(exc)) from None
    if guidance is not None and (problem := guidance_problem(guidance, "--guidance")):
        raise bad("guidance", problem)
    return ClassChoice(chosen, float(guidance if guidance is not None else config.guidance))
