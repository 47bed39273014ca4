"""The options of `diffdash new` and the config they make: each declared once, with its default and help.

The cold-diffusion options come from their declaration in degradations/options.py and the sampler names from
the sampler registry, so neither is spelled here. A study member is a `new` command line, so studies build
their configs through `build_config` too.
"""

from __future__ import annotations

import click

from diffdash.commands.common import config_error
from diffdash.config import DEVICES, MODELS, PRECISIONS, ConfigError, RunConfig, parse_betas, parse_int_list
from diffdash.diffusion.samplers import DEFAULT_SAMPLER, SAMPLERS
from diffdash.diffusion.schedules import SCHEDULES


def training_options(f):
    opts = [
        click.option("--model", default="ddpm", show_default=True, help=f"Model: {', '.join(MODELS)}."),
        click.option("--n-hidden", default="16,32,32,16", show_default=True, help="Channels of each CNN block."),
        click.option(
            "--norm",
            default="chw",
            show_default=True,
            help="LayerNorm over (C,28,28) 'chw' (starter default) or (28,28) 'hw'.",
        ),
        click.option("--epochs", type=int, default=20, show_default=True, help="Passes over the training digits."),
        click.option("--batch-size", type=int, default=128, show_default=True, help="Digits per training step."),
        click.option("--lr", type=float, default=2e-4, show_default=True, help="Adam learning rate."),
        click.option("--betas", default="1e-4,0.02", show_default=True, help="beta1,beta2 of the linear schedule."),
        click.option(
            "--schedule",
            default="linear",
            show_default=True,
            help=f"DDPM beta schedule: {' or '.join(SCHEDULES)} (linear is the starter's, from --betas).",
        ),
        click.option("--n-T", "n_T", type=int, default=None, help="Diffusion steps [default: ddpm 1000, cold 20]."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed for init, shuffling, noise."),
        click.option(
            "--sample-seed",
            type=int,
            default=0,
            show_default=True,
            help="Seed of the fixed preview noise (same grids across epochs and runs).",
        ),
        click.option("--name", default=None, help="Name the run folder (default: <time>-<model>-<hex>)."),
        click.option(
            "--dataset",
            default="mnist",
            show_default=True,
            help="mnist (full; falls back to the bundled subset offline) or mnist-small (bundled).",
        ),
        click.option("--data-dir", default=None, help="Folder with the MNIST idx files [env DIFFDASH_DATA]."),
        click.option("--train-limit", type=int, default=None, help="Use only the first N training digits."),
        click.option("--val-limit", type=int, default=None, help="Use only the first N test digits."),
        click.option("--device", default="auto", show_default=True, help=f"One of {', '.join(DEVICES)}."),
        click.option(
            "--precision",
            default="auto",
            show_default=True,
            help=f"One of {', '.join(PRECISIONS)}; auto is bf16 autocast where the hardware has it natively "
            "(AVX512-BF16 or AMX CPUs, CUDA with bf16), else fp32.",
        ),
        click.option(
            "--threads",
            type=click.IntRange(min=1, max=1024),
            default=None,
            help="CPU threads for training [default: all cores].",
        ),
        click.option(
            "--compile",
            is_flag=True,
            help="torch.compile the network for training steps (compiled before the first step; needs a C++ "
            "compiler on the CPU, Triton on CUDA).",
        ),
        click.option(
            "--sample-every",
            default="auto",
            show_default=True,
            help="Preview grids: every N epochs (2), steps (500steps) or training time (90s, 2m); auto = every "
            "epoch plus, inside long epochs, after 45 s, then at doubling intervals. Combine with commas (1,5m).",
        ),
        click.option(
            "--sampler",
            default=None,
            help=f"Preview sampler: {sampler_help()}.",
        ),
        click.option(
            "--sample-steps",
            type=int,
            default=50,
            show_default=True,
            help="Preview steps of a strided sampler, e.g. ddim.",
        ),
        click.option("--checkpoint-every", type=int, default=1, show_default=True, help="Checkpoint every N epochs."),
        *quality_options(),
        *cold_options(),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def sampler_help() -> str:
    """'ancestral, ddim or dpm++2m (ddpm, default ddim); ...', from the sampler registry."""
    parts = []
    for model, table in SAMPLERS.items():
        names = list(table)
        listed = f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
        parts.append(f"{listed} ({model}, default {DEFAULT_SAMPLER[model]})")
    return "; ".join(parts)


def quality_options() -> list:
    """EMA and evaluation during training."""
    return [
        click.option("--ema", type=float, default=None, help="Keep an EMA of the weights with this decay, e.g. 0.999."),
        click.option(
            "--preview-weights",
            default="auto",
            show_default=True,
            help="Weights for previews and --eval-every: auto (EMA if kept), ema or raw.",
        ),
        click.option(
            "--eval-every",
            type=int,
            default=None,
            help="Every K epochs, score fresh samples: FID (MNIST classifier), digit histogram, confidence.",
        ),
        click.option(
            "--eval-n",
            type=int,
            default=None,
            help="Samples per --eval-every evaluation [default: as many as cost ~10% of the training between].",
        ),
        click.option(
            "--keep-snapshots",
            is_flag=True,
            help="Keep each epoch's weights (checkpoints/epoch_NNNN.pt) for `diffdash eval --epoch N`.",
        ),
    ]


def cold_options() -> list:
    """Cold diffusion: which degradation, its options, the restorer's loss, the generation prior (declared in
    degradations/options.py)."""
    from diffdash.degradations.options import click_options

    return click_options()


def build_config(**kw) -> RunConfig:
    if kw.get("n_T") is None:
        kw["n_T"] = 20 if kw.get("model") == "cold" else 1000
    if kw.get("sampler") is None:
        kw["sampler"] = DEFAULT_SAMPLER.get(kw.get("model"), DEFAULT_SAMPLER["ddpm"])
    if kw.get("compile"):
        check_compile(kw.get("device", "auto"))
    try:
        kw["n_hidden"] = parse_int_list(kw["n_hidden"])
        kw["betas"] = parse_betas(kw["betas"])
        return RunConfig(**kw).validate()
    except ConfigError as exc:
        raise config_error(exc) from None


def check_compile(device: str) -> None:
    """--compile where torch.compile cannot work (no C++ compiler, no Triton, MPS): exit 2 before the run exists."""
    from diffdash.devices import DeviceError, resolve_device
    from diffdash.training.compiled import compile_problem

    try:
        problem = compile_problem(resolve_device(device))
    except DeviceError:
        return  # the device check that follows names the problem
    if problem:
        raise click.BadParameter(problem, param_hint="'--compile'")
