"""The resolved configuration of a run: one dataclass, validated before anything is created."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from diffdash.options.cold_options import BLUR_SCHEDULES  # noqa: F401 - re-exported for completion
from diffdash.options.cold_options import OPTIONS as COLD_OPTIONS
from diffdash.options.option import Option
from diffdash.options.run_options import DEVICES, MODELS, N_T_RANGE, PRECISIONS, PREVIEW_WEIGHTS  # noqa: F401
from diffdash.options.table import BY_NAME, OPTIONS
from diffdash.options.values import (  # noqa: F401 - re-exported: the commands and `rename` use them from here
    NAME_RE,
    SEED_MAX,
    SEED_MIN,
    ConfigError,
    check_betas,
    check_finite,
    check_n_hidden,
    check_name,
    check_seed,
    parse_betas,
    parse_duration,
    parse_int_list,
)

COLD_FIELDS = tuple(option.name for option in COLD_OPTIONS)
# fields that are not options of `new` but written by the tool, after the option they follow
EXTRA_FIELDS = {"study": (("trial", "int | None", None),)}  # a study's search trial number (study/search.py)


def with_options(cls: type) -> type:
    """Gives the class a field per option of the table (diffdash/options), in its order, so config.json keeps
    its key order and an option is declared in one place: its default, type and check."""
    for option in OPTIONS:
        _add_field(cls, option.name, option.type, option.default)
        for name, kind, default in EXTRA_FIELDS.get(option.name, ()):
            _add_field(cls, name, kind, default)
    return cls


def _add_field(cls: type, name: str, kind: str, default: Any) -> None:
    cls.__annotations__[name] = kind
    if isinstance(default, list):
        setattr(cls, name, field(default_factory=lambda d=tuple(default): list(d)))
    else:
        setattr(cls, name, default)


def _sampler_names(model: str) -> tuple[str, ...]:
    from diffdash.diffusion.samplers import names  # the registries sit above the option table: read them late

    return tuple(names(model))


@dataclass
@with_options
class RunConfig:
    """A run's options: one field per entry of the option table (diffdash/options/table.py), e.g. `model`,
    `net` and its network's options, `epochs`, ..., then the cold-diffusion options."""

    def to_dict(self) -> dict[str, Any]:
        """All fields but the options that do not apply (a DDPM run's cold-diffusion options, another
        network's options), which would only mislead a diff."""
        data = asdict(self)
        for option in OPTIONS:
            if not option.applies(self):
                data.pop(option.name, None)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """A config.json's values; a run written before `net` existed reads as the coursework's CNN."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def validate(self) -> RunConfig:
        """Each option that applies by its own check in the table, then the rules that join options."""
        for name in ("model", "net"):
            self._check(BY_NAME[name])
        low, high = N_T_RANGE.get(self.model, (1, 100_000))
        if not (isinstance(self.n_T, int) and low <= self.n_T <= high):
            raise ConfigError("n_T", f"n-T must lie in {low}..{high} for {self.model}, got {self.n_T}")
        if self.sampler not in _sampler_names(self.model):
            shown = ", ".join(_sampler_names(self.model))
            said = f"{self.sampler!r} for ddpm" if self.model == "ddpm" else f"for cold {self.sampler!r}"
            raise ConfigError("sampler", f"unknown sampler {said}: choose one of {shown}")
        for option in OPTIONS:
            if option.name != "sampler" and option.applies(self):
                self._check(option)
        if self.model == "cold" and self.schedule != "linear":
            raise ConfigError("schedule", "--schedule is DDPM's noise schedule: cold runs degrade by --degradation")
        if self.cond != "none" and self.model == "cold":
            raise ConfigError(
                "cond",
                "--cond class is for DDPM: a class-conditional cold restorer is not built (README, Class conditioning)",
            )
        if self.cond != "none" and self.cond_drop == 0 and self.guidance != 0:
            raise ConfigError(
                "guidance", "--guidance above 0 needs --cond-drop above 0 (the 'no label' model is never trained)"
            )
        if self.preview_weights == "ema" and self.ema is None:
            raise ConfigError("preview_weights", "preview weights 'ema' need an EMA: pass --ema DECAY (e.g. 0.999)")
        self.betas = [float(b) for b in self.betas]
        self.sample_every = str(self.sample_every)
        return self

    def _check(self, option: Option) -> None:
        problem = option.problem(getattr(self, option.name), self)
        if problem:
            raise ConfigError(option.name, problem)

    def max_time_s(self) -> float | None:
        """--max-time in seconds of training, None for no limit."""
        return parse_duration(self.max_time) if self.max_time is not None else None

    def weights_used(self) -> str:
        """Which weights previews and --eval-every use: 'ema' or 'raw'."""
        if self.preview_weights == "auto":
            return "ema" if self.ema is not None else "raw"
        return self.preview_weights
