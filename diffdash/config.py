"""The resolved configuration of a run: one dataclass, validated before anything is created."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from diffdash.degradations.options import BLUR_SCHEDULES  # noqa: F401 - re-exported for completion
from diffdash.degradations.options import OPTIONS as COLD_OPTIONS
from diffdash.diffusion.samplers import DEFAULT_SAMPLER
from diffdash.diffusion.samplers import names as sampler_names
from diffdash.diffusion.schedules import SCHEDULES

MODELS = ("ddpm", "cold")
COLD_FIELDS = tuple(option.name for option in COLD_OPTIONS)
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
PREVIEW_WEIGHTS = ("auto", "ema", "raw")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1  # torch seeds are 64-bit; offsets added to a seed stay in range
N_T_RANGE = {"ddpm": (2, 100_000), "cold": (1, 1000)}


class ConfigError(ValueError):
    """A bad value in a config; `param` names the option it came from."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


def with_cold_options(cls: type) -> type:
    """Adds the cold-diffusion fields declared in degradations/options.py after the class's own ones (so
    config.json keeps its key order); the declaration is their one definition."""
    for option in COLD_OPTIONS:
        cls.__annotations__[option.name] = option.type
        setattr(cls, option.name, option.default)
    return cls


@dataclass
@with_cold_options
class RunConfig:
    model: str = "ddpm"
    n_hidden: list[int] = field(default_factory=lambda: [16, 32, 32, 16])
    norm: str = "chw"
    epochs: int = 20
    batch_size: int = 128
    lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [1e-4, 0.02])
    schedule: str = "linear"  # DDPM beta schedule, a name in diffusion/schedules.py
    n_T: int = 1000
    seed: int = 0
    sample_seed: int = 0
    dataset: str = "mnist"
    data_dir: str | None = None
    train_limit: int | None = None
    val_limit: int | None = None
    device: str = "auto"
    precision: str = "auto"  # bf16 where the hardware has it natively, else fp32 (diffdash/devices.py)
    threads: int | None = None  # torch intra-op threads; None: all cores
    compile: bool = False  # torch.compile the network for training steps (diffdash/training/compiled.py)
    sample_every: str = "auto"  # epochs, steps or a duration: see diffdash/cadence.py
    sampler: str = DEFAULT_SAMPLER["ddpm"]
    sample_steps: int = 50
    checkpoint_every: int = 1
    name: str | None = None
    study: str | None = None  # the study this run belongs to (`diffdash study`), None for a lone run
    # sample quality: EMA weights, evaluation during training, per-epoch weight snapshots
    ema: float | None = None
    preview_weights: str = "auto"
    eval_every: int | None = None
    eval_n: int | None = None
    keep_snapshots: bool = False
    # then the cold-diffusion fields (degradation, kernel_size, ..., gen_noise): see with_cold_options

    def to_dict(self) -> dict[str, Any]:
        """All fields; a DDPM run leaves out the cold-diffusion options, which would only mislead a diff."""
        data = asdict(self)
        if self.model != "cold":
            for name in COLD_FIELDS:
                data.pop(name, None)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def validate(self) -> RunConfig:
        from diffdash.data import DATASETS

        if self.model not in MODELS:
            raise ConfigError("model", f"unknown model {self.model!r}: choose one of {', '.join(MODELS)}")
        check_n_hidden(self.n_hidden)
        if self.norm not in ("chw", "hw"):
            raise ConfigError("norm", f"unknown norm {self.norm!r}: choose chw or hw")
        for name in ("epochs", "batch_size", "n_T", "sample_steps", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(name, f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name in ("train_limit", "val_limit"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(name, f"{name.replace('_', '-')} must be at least 1, got {value}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError("lr", f"lr must be a finite number above 0 (e.g. 2e-4), got {self.lr}")
        check_seed(self.seed, "seed")
        check_seed(self.sample_seed, "sample_seed")
        low, high = N_T_RANGE.get(self.model, (1, 100_000))
        if not low <= self.n_T <= high:
            raise ConfigError("n_T", f"n-T must lie in {low}..{high} for {self.model}, got {self.n_T}")
        self.check_sample_every()
        b1, b2 = check_betas(self.betas)
        self.betas = [b1, b2]
        if self.dataset not in DATASETS:
            raise ConfigError("dataset", f"unknown dataset {self.dataset!r}: choose one of {', '.join(DATASETS)}")
        if self.device not in DEVICES:
            raise ConfigError("device", f"unknown device {self.device!r}: choose one of {', '.join(DEVICES)}")
        if self.precision not in PRECISIONS:
            raise ConfigError("precision", f"unknown precision {self.precision!r}: choose auto, fp32 or bf16")
        if self.threads is not None and (isinstance(self.threads, bool) or not 1 <= int(self.threads) <= 1024):
            raise ConfigError("threads", f"threads must be a whole number from 1 to 1024, got {self.threads}")
        if self.schedule not in SCHEDULES:
            raise ConfigError("schedule", f"unknown schedule {self.schedule!r}: choose one of {', '.join(SCHEDULES)}")
        if self.model == "cold" and self.schedule != "linear":
            raise ConfigError("schedule", "--schedule is DDPM's noise schedule: cold runs degrade by --degradation")
        if self.model == "ddpm" and self.sampler not in sampler_names("ddpm"):
            shown = ", ".join(sampler_names("ddpm"))
            raise ConfigError("sampler", f"unknown sampler {self.sampler!r} for ddpm: choose one of {shown}")
        if self.name is not None:
            check_name(self.name)
        self.validate_quality()
        if self.model == "cold":
            self.validate_cold()
        return self

    def validate_cold(self) -> None:
        """The cold-diffusion options, as declared in degradations/options.py; checked without importing torch."""
        if self.sampler not in sampler_names("cold"):
            shown = ", ".join(sampler_names("cold"))
            raise ConfigError("sampler", f"unknown sampler for cold {self.sampler!r}: choose one of {shown}")
        for option in COLD_OPTIONS:
            problem = option.problem(getattr(self, option.name), self)
            if problem:
                raise ConfigError(option.name, problem)

    def check_sample_every(self) -> None:
        from diffdash.cadence import CadenceError, parse_cadence

        try:
            parse_cadence(self.sample_every)
        except CadenceError as exc:
            raise ConfigError("sample_every", str(exc)) from None
        self.sample_every = str(self.sample_every)

    def validate_quality(self) -> None:
        """The EMA / evaluation options, and how they combine (EMA previews need an EMA)."""
        if self.ema is not None and not 0.0 < self.ema < 1.0:
            raise ConfigError("ema", f"ema decay must lie strictly between 0 and 1 (e.g. 0.999), got {self.ema}")
        if self.preview_weights not in PREVIEW_WEIGHTS:
            raise ConfigError(
                "preview_weights",
                f"unknown preview weights {self.preview_weights!r}: choose one of {', '.join(PREVIEW_WEIGHTS)}",
            )
        if self.preview_weights == "ema" and self.ema is None:
            raise ConfigError("preview_weights", "preview weights 'ema' need an EMA: pass --ema DECAY (e.g. 0.999)")
        if self.eval_every is not None and self.eval_every < 1:
            raise ConfigError("eval_every", f"eval-every must be at least 1, got {self.eval_every}")
        if self.eval_n is not None and self.eval_n < 2:
            raise ConfigError("eval_n", f"eval-n must be at least 2 (FID needs a covariance), got {self.eval_n}")

    def weights_used(self) -> str:
        """Which weights previews and --eval-every use: 'ema' or 'raw'."""
        if self.preview_weights == "auto":
            return "ema" if self.ema is not None else "raw"
        return self.preview_weights


def parse_int_list(text: str, what: str = "n-hidden") -> list[int]:
    """'16,32,64' -> [16, 32, 64], with a message that names the bad entry."""
    if not text or not text.strip():
        raise ConfigError(what, f"{what} is empty: give channel counts like 16,32,32,16")
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ConfigError(what, f"{what} {text!r} has an empty entry: give channel counts like 16,32,32,16")
        try:
            out.append(int(part))
        except ValueError:
            raise ConfigError(what, f"{what} entry {part!r} is not a whole number: give e.g. 16,32,32,16") from None
    return check_n_hidden(out)


def check_n_hidden(values: list[int]) -> list[int]:
    if not values:
        raise ConfigError("n_hidden", "n-hidden is empty: give channel counts like 16,32,32,16")
    for v in values:
        if int(v) < 1:
            raise ConfigError("n_hidden", f"n-hidden entry {v} must be a positive channel count (e.g. 16,32,32,16)")
    return [int(v) for v in values]


def parse_betas(text: str) -> list[float]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise ConfigError("betas", f"betas {text!r} must be two numbers 'beta1,beta2', e.g. 1e-4,0.02")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ConfigError("betas", f"betas {text!r} must be two numbers 'beta1,beta2', e.g. 1e-4,0.02") from None
    b1, b2 = check_betas(values)
    return [b1, b2]


def check_betas(values: list[float]) -> tuple[float, float]:
    b1, b2 = float(values[0]), float(values[1])
    if not (0 < b1 < b2 < 1):
        raise ConfigError("betas", f"betas {b1:g},{b2:g} must satisfy 0 < beta1 < beta2 < 1 (e.g. 1e-4,0.02)")
    return b1, b2


def check_name(name: str) -> str:
    """The one rule for run names, of `new --name` and `rename` alike."""
    if "/" in name or "\\" in name or ".." in name or not NAME_RE.match(name):
        raise ConfigError(
            "name",
            f"run name {name!r} is not allowed: use letters, digits, '.', '_' or '-' "
            "(no '/', no '..', at most 80 characters)",
        )
    if name.isdigit() or name == "latest":
        raise ConfigError("name", f"run name {name!r} would read as a run index or 'latest': include a letter")
    return name


def check_seed(value: int, param: str = "seed") -> int:
    """Seeds fit in 64 bits (torch's limit), so a huge one is a clear error, not an OverflowError later."""
    if isinstance(value, bool) or not isinstance(value, int) or not SEED_MIN <= value <= SEED_MAX:
        shown = param.replace("_", "-")
        raise ConfigError(param, f"{shown} must be a whole number from {SEED_MIN} to {SEED_MAX} (64 bits), got {value}")
    return value


def check_finite(value: float, param: str) -> float:
    if not math.isfinite(value):
        raise ConfigError(param, f"{param.replace('_', '-')} must be a finite number, got {value}")
    return value
