"""The resolved configuration of a run: one dataclass, validated before anything is created."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

MODELS = ("ddpm", "cold")
COLD_FIELDS = (
    "degradation", "kernel_size", "kernel_std", "blur_schedule", "padding", "mask_std", "mask_place",
    "pixelate_min", "fade_to", "loss", "prior_t", "prior_components", "gen_noise",
)  # fmt: skip
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
COLD_SAMPLERS = ("direct", "alg1", "alg2")
BLUR_SCHEDULES = ("even", "constant", "growing", "linear")
PREVIEW_WEIGHTS = ("auto", "ema", "raw")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1  # torch seeds are 64-bit; offsets added to a seed stay in range
N_T_RANGE = {"ddpm": (2, 100_000), "cold": (1, 1000)}


class ConfigError(ValueError):
    """A bad value in a config; `param` names the option it came from."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


@dataclass
class RunConfig:
    model: str = "ddpm"
    n_hidden: list[int] = field(default_factory=lambda: [16, 32, 32, 16])
    norm: str = "chw"
    epochs: int = 20
    batch_size: int = 128
    lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [1e-4, 0.02])
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
    sample_every: str = "auto"  # epochs, steps or a duration: see diffdash/cadence.py
    sampler: str = "ddim"
    sample_steps: int = 50
    checkpoint_every: int = 1
    name: str | None = None
    study: str | None = None  # the study this run belongs to (`diffdash study`), None for a lone run
    # sample quality (issue 6): EMA weights, evaluation during training, per-epoch weight snapshots
    ema: float | None = None
    preview_weights: str = "auto"
    eval_every: int | None = None
    eval_n: int | None = None
    keep_snapshots: bool = False
    # cold diffusion (issue 5): degradation and its options, restorer loss, generation prior
    degradation: str = "blur"
    kernel_size: int = 11
    kernel_std: float = 7.0
    blur_schedule: str = "even"
    padding: str = "circular"
    mask_std: float = 12.0
    mask_place: str = "centre"
    pixelate_min: int = 4
    fade_to: str = "black"
    loss: str = "l1"
    prior_t: int | None = None
    prior_components: int = 10
    gen_noise: float = 0.0

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
        if self.model == "ddpm" and self.sampler not in ("ancestral", "ddim"):
            raise ConfigError("sampler", f"unknown sampler {self.sampler!r} for ddpm: choose ancestral or ddim")
        if self.name is not None:
            check_name(self.name)
        self.validate_quality()
        if self.model == "cold":
            self.validate_cold()
        return self

    def validate_cold(self) -> None:
        """The cold-diffusion options (issue 5); names and ranges without importing torch."""
        from diffdash.degradations import names

        def choose(param: str, value: str, allowed: tuple, what: str) -> None:
            if value not in allowed:
                shown = ", ".join(map(str, allowed))
                raise ConfigError(param, f"unknown {what} {value!r}: choose one of {shown}")

        choose("degradation", self.degradation, names(), "degradation")
        choose("sampler", self.sampler, COLD_SAMPLERS, "sampler for cold")
        choose("loss", self.loss, ("l1", "l2"), "loss")
        choose("blur_schedule", self.blur_schedule, BLUR_SCHEDULES, "blur schedule")
        choose("padding", self.padding, ("circular", "reflect", "zero"), "padding")
        choose("mask_place", self.mask_place, ("centre", "random"), "mask place")
        choose("fade_to", self.fade_to, ("black", "mean"), "fade target")
        k = self.kernel_size
        if not (isinstance(k, int) and 1 <= k <= 27 and k % 2 == 1):
            raise ConfigError("kernel_size", f"kernel size must be an odd whole number from 1 to 27, got {k}")
        if not (math.isfinite(self.kernel_std) and self.kernel_std > 0):
            raise ConfigError("kernel_std", f"kernel std (σ) must be positive, got {self.kernel_std}")
        if not 0 < self.mask_std <= 56:
            raise ConfigError("mask_std", f"mask std must lie in (0, 56] pixels, got {self.mask_std}")
        if self.pixelate_min not in (1, 2, 4, 7, 14):
            raise ConfigError("pixelate_min", f"pixelate size must be one of 1, 2, 4, 7, 14, got {self.pixelate_min}")
        if self.prior_t is not None and not 1 <= self.prior_t <= self.n_T:
            raise ConfigError("prior_t", f"prior t must lie in 1..n-T ({self.n_T}), got {self.prior_t}")
        if self.prior_components < 1:
            raise ConfigError("prior_components", f"prior components must be at least 1, got {self.prior_components}")
        if not (math.isfinite(self.gen_noise) and self.gen_noise >= 0):
            raise ConfigError("gen_noise", f"gen noise must be zero or positive, got {self.gen_noise}")

    def check_sample_every(self) -> None:
        from diffdash.cadence import CadenceError, parse_cadence

        try:
            parse_cadence(self.sample_every)
        except CadenceError as exc:
            raise ConfigError("sample_every", str(exc)) from None
        self.sample_every = str(self.sample_every)

    def validate_quality(self) -> None:
        """The EMA / evaluation options (issue 6)."""
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
