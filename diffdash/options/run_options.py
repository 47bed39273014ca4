"""The options every run has (model, training, data, device, previews, quality), in config.json's order.

The networks' options (each declared in its module under diffdash/models) come between `net` and `epochs`,
the cold-diffusion ones (cold_options.py) after these: table.py puts the table together. The choices of a
network, schedule or sampler are looked up in their registries (models/, diffusion/) inside the functions below.
"""

from __future__ import annotations

import math

from diffdash.options.option import Option
from diffdash.options.values import check_betas, check_name, check_seed, message, parse_betas, parse_duration

MODELS = ("ddpm", "cold")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
PREVIEW_WEIGHTS = ("auto", "ema", "raw")
DATASETS = ("mnist", "mnist-small")  # what diffdash/mnist/load.py loads
N_T_RANGE = {"ddpm": (2, 100_000), "cold": (1, 1000)}
QUALITY = "Previews and sample quality"
MAX_EPOCHS = 1_000_000  # beyond any real run: a typo (1e14) is refused, not recorded


def _networks() -> tuple[str, ...]:
    from diffdash.models import names

    return names()


def _schedules() -> tuple[str, ...]:
    from diffdash.diffusion.schedules import SCHEDULES

    return tuple(SCHEDULES)


def _samplers() -> tuple[str, ...]:
    from diffdash.diffusion.samplers import all_names

    return all_names()


def _default_samplers() -> dict[str, str]:
    from diffdash.diffusion.samplers import DEFAULT_SAMPLER

    return dict(DEFAULT_SAMPLER)


def _sampler_help() -> str:
    """'ancestral, ddim or dpm++2m (ddpm, default ddim); ...', from the sampler registry."""
    from diffdash.diffusion.samplers import DEFAULT_SAMPLER, SAMPLERS

    parts = []
    for model, table in SAMPLERS.items():
        names = list(table)
        listed = f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
        parts.append(f"{listed} ({model}, default {DEFAULT_SAMPLER[model]})")
    return "; ".join(parts)


def _cadence(value: str) -> str | None:
    from diffdash.options.cadence import CadenceError, parse_cadence

    try:
        parse_cadence(value)
    except CadenceError as exc:
        return str(exc)
    return None


def _whole(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _min(low: int, optional: bool = False):
    """(value, config) -> fine?, for whole numbers at least `low` (None allowed when optional)."""
    return lambda v, _c: (optional and v is None) or (_whole(v) and v >= low)


AT_LEAST_1 = "{flag} must be at least 1, got {value}"

HEAD: tuple[Option, ...] = (
    Option("model", "str", "ddpm", "Model: ddpm, cold.", choices=MODELS, what="model"),
    Option(
        "net", "str", "cnn", "Network: cnn (the coursework's) or unet (a small U-Net; diffdash/models).",
        choices=_networks, what="network",
    ),
)  # fmt: skip

BODY: tuple[Option, ...] = (
    Option(
        "epochs", "int", 20, "Passes over the training digits.",
        valid=_min(1), rule=AT_LEAST_1,
        check=lambda v: f"epochs must be at most {MAX_EPOCHS}, got {v}" if _whole(v) and v > MAX_EPOCHS else None,
    ),
    Option("batch_size", "int", 128, "Digits per training step.", valid=_min(1), rule=AT_LEAST_1),
    Option(
        "lr", "float", 2e-4, "Adam learning rate.",
        valid=lambda v, _c: isinstance(v, (int, float)) and math.isfinite(v) and v > 0,
        rule="lr must be a finite number above 0 (e.g. 2e-4), got {value}",
    ),
    Option(
        "betas", "list[float]", [1e-4, 0.02], "beta1,beta2 of the linear schedule.",
        check=lambda v: message(check_betas, v), parse=parse_betas,
    ),
    Option(
        "schedule", "str", "linear", "DDPM beta schedule: linear or cosine (linear is the starter's, from --betas).",
        choices=_schedules, what="schedule",
    ),
    Option(
        "n_T", "int", 1000, "Diffusion steps.", valid=_min(1), rule="n-T must be at least 1, got {value}",
        by_model={"ddpm": 1000, "cold": 20},
    ),
    Option("seed", "int", 0, "Seed for init, shuffling, noise.", check=lambda v: message(check_seed, v, "seed")),
    Option(
        "sample_seed", "int", 0, "Seed of the fixed preview noise (same grids across epochs and runs).",
        check=lambda v: message(check_seed, v, "sample_seed"),
    ),
    Option(
        "dataset", "str", "mnist", "mnist (full; falls back to the bundled subset offline) or mnist-small (bundled).",
        choices=DATASETS, what="dataset",
    ),
    Option("data_dir", "str | None", None, "Folder with the MNIST idx files [env DIFFDASH_DATA]."),
    Option(
        "train_limit", "int | None", None, "Use only the first N training digits.", valid=_min(1, True),
        rule=AT_LEAST_1,
    ),
    Option("val_limit", "int | None", None, "Use only the first N test digits.", valid=_min(1, True), rule=AT_LEAST_1),
    Option("device", "str", "auto", "One of auto, cpu, cuda, mps.", choices=DEVICES, what="device"),
    Option(
        "precision", "str", "auto",
        "One of auto, fp32, bf16; auto is bf16 autocast where the hardware has it natively (AVX512-BF16 or AMX "
        "CPUs, CUDA with bf16), else fp32.",
        choices=PRECISIONS, what="precision",
    ),
    Option(
        "threads", "int | None", None, "CPU threads for training [default: all cores].",
        valid=lambda v, _c: v is None or (_whole(v) and 1 <= v <= 1024),
        rule="threads must be a whole number from 1 to 1024, got {value}", bounds=(1, 1024),
    ),
    Option(
        "compile", "bool", False,
        "torch.compile the network for training steps (compiled before the first step; needs a C++ compiler on "
        "the CPU, Triton on CUDA).",
    ),
    Option(
        "sample_every", "str", "auto",
        "Preview grids: every N epochs (2), steps (500steps) or training time (90s, 2m); auto = every epoch plus, "
        "inside long epochs, after 45 s, then at doubling intervals. Combine with commas (1,5m).",
        check=_cadence, section=QUALITY,
    ),
    Option(
        "sampler", "str", "ddim", "Preview sampler: " + _sampler_help() + ".", choices=_samplers, what="sampler",
        by_model=_default_samplers(), section=QUALITY,
    ),
    Option(
        "sample_steps", "int", 50, "Preview steps of a strided sampler, e.g. ddim.", section=QUALITY,
        valid=lambda v, c: _min(1)(v, c) and (v <= c.n_T or v == 50),  # the default is cut to a small n_T
        rule="sample steps must lie in 1..{n_T} (n-T), as `sample --steps`, got {value}",
    ),
    Option("checkpoint_every", "int", 1, "Checkpoint every N epochs.", valid=_min(1), rule=AT_LEAST_1),
    Option(
        "name", "str | None", None, "Name the run folder (default: <time>-<model>-<hex>).",
        check=lambda v: v is not None and message(check_name, v) or None,
    ),
    Option(
        "study", "str | None", None, "Tag the run as a member of study NAME (`diffdash runs --study NAME`).",
        cli=False,  # --study: `new` places it after --runs-dir (commands/new_options.py `study_option`)
    ),
    Option(
        "ema", "float | None", None, "Keep an EMA of the weights with this decay, e.g. 0.999.",
        valid=lambda v, _c: v is None or 0.0 < v < 1.0,
        rule="ema decay must lie strictly between 0 and 1 (e.g. 0.999), got {value}", section=QUALITY,
    ),
    Option(
        "preview_weights", "str", "auto", "Weights for previews and --eval-every: auto (EMA if kept), ema or raw.",
        choices=PREVIEW_WEIGHTS, what="preview weights", section=QUALITY,
    ),
    Option(
        "eval_every", "int | None", None,
        "Every K epochs, score fresh samples: FID (MNIST classifier), digit histogram, confidence.",
        valid=_min(1, True), rule=AT_LEAST_1, section=QUALITY,
    ),
    Option(
        "eval_n", "int | None", None,
        "Samples per --eval-every evaluation [default: as many as cost ~10% of the training between].",
        valid=_min(2, True), rule="eval-n must be at least 2 (FID needs a covariance), got {value}", section=QUALITY,
    ),
    Option(
        "keep_snapshots", "bool", False,
        "Keep each epoch's weights (checkpoints/epoch_NNNN.pt) for `diffdash eval --epoch N`.", section=QUALITY,
    ),
    Option(
        "max_time", "str | None", None,
        "Stop (with a checkpoint) when the run's training time reaches this, e.g. 30m, 1h, 1h30m; `resume "
        "--max-time` extends it.",
        check=lambda v: v is not None and message(parse_duration, v) or None,
    ),
)  # fmt: skip
