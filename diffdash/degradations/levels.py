"""How much of the digits survives each level of a degradation, and a blur schedule that spends its
levels evenly.

A level only teaches the restorer something, and only gives generation a step to take, while the
degraded digits still differ from each other. We measure that as the share of the digits' *shape*
variance (each image centred on its own mean brightness, which no normalised blur can remove) left at
level t. Heavy blur with a constant σ keeps under 1 % after two steps, so most of its levels are
saturated; `new` warns about that (`saturation_notice`).

The `even` blur schedule picks each step's kernel σ so that this share falls by the same amount at
every level. For circular padding the share has a closed form: blur multiplies each Fourier
coefficient by the kernel's transfer function, so the share left is the digits' power spectrum
weighted by |H_1 ... H_t|². The spectrum comes from the bundled MNIST subset, so the schedule depends
only on (kernel size, σ, n_T), never on the data a run trains on.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from diffdash.degradations.base import Degradation
    from diffdash.options.run_config import RunConfig

SATURATED = 0.01  # a level keeping less than this share of the shape variance carries (almost) nothing
SPECTRUM_IMAGES = 2000
MEASURE_IMAGES = 256
IMAGE_SIZE = 28
SIGMA_MIN, SIGMA_MAX = 1e-3, 100.0  # σ 100 on a ≤ 27-pixel kernel is a box filter


def bundled_digits(n: int) -> torch.Tensor:
    """The first n training digits of the bundled subset, (n, 1, 28, 28) in the data range: a fixed reference,
    whatever data a run trains on."""
    from diffdash.mnist.digits import BUNDLED_DIR, to_tensor
    from diffdash.mnist.idx import read_idx

    return to_tensor(read_idx(BUNDLED_DIR / "train-images-idx3-ubyte.gz")[:n])


def shape_spread(x: torch.Tensor) -> float:
    """Total variance across images after centring each image on its own mean brightness."""
    x = x.double().flatten(1)
    x = x - x.mean(1, keepdim=True)
    return float((x - x.mean(0)).pow(2).sum() / len(x))


@torch.no_grad()
def surviving_variance(degradation: Degradation, images: torch.Tensor) -> list[float]:
    """Share of the digits' shape variance left at each level t = 0..n_T (1.0 at t = 0)."""
    x = images.float()
    params = degradation.generation_params(len(x))
    base = max(shape_spread(x), 1e-30)
    return [shape_spread(degradation(x, t, params)) / base for t in range(degradation.n_T + 1)]


def saturated_levels(shares: list[float]) -> list[int]:
    return [t for t, share in enumerate(shares) if t > 0 and share < SATURATED]


def saturation_notice(config: RunConfig, shares: list[float] | None = None, *, short: bool = False) -> str | None:
    """A warning with a concrete suggestion when most levels of a cold run's degradation are saturated
    (`short`: one line for the dashboard's event line)."""
    if config.model != "cold":
        return None
    if shares is None:
        from diffdash.degradations import build_degradation

        shares = surviving_variance(build_degradation(config), bundled_digits(MEASURE_IMAGES))
    n = len(shares) - 1
    flat = saturated_levels(shares)
    if len(flat) * 2 <= n:
        return None
    useful = n - len(flat)
    first = range(1, min(n, 3) + 1)
    kept = f"level{'s' if len(first) > 1 else ''} {', '.join(map(str, first))} keep"
    kept += " " + ", ".join(f"{100 * shares[t]:.1f} %" for t in first)
    even = config.degradation == "blur" and config.blur_schedule != "even"
    if short:
        fix = f"--blur-schedule even or --n-T {max(2, useful + 1)}" if even else f"--n-T {max(2, useful + 1)}"
        return f"{len(flat)} of {n} levels keep < {100 * SATURATED:g} % of the digits: try {fix}"
    if even:
        fix = f"--blur-schedule even (the same final blur spread over the {n} steps) or --n-T {max(2, useful + 1)}"
    else:
        fix = f"--n-T {max(2, useful + 1)} or a milder degradation"
    return (
        f"{len(flat)} of {n} levels keep under {100 * SATURATED:g} % of the digits' variance "
        f"({kept}): they teach the restorer nothing and leave generation few steps. "
        f"Try {fix}."
    )


# ---------------------------------------------------------------------------------- the even schedule
def gaussian_1d(size: int, sigma: float) -> torch.Tensor:
    """torchgeometry's normalised 1-D Gaussian (its 2-D kernel is the outer product of two), float64."""
    x = torch.arange(size, dtype=torch.float64) - size // 2
    if size % 2 == 0:
        x = x + 0.5
    g = torch.exp(-(x**2) / (2.0 * float(sigma) ** 2))
    return g / g.sum()


@lru_cache(maxsize=8)
def _cosines(size: int, n: int) -> torch.Tensor:
    offsets = torch.arange(size, dtype=torch.float64) - size // 2
    f = torch.arange(n, dtype=torch.float64)
    return torch.cos(2 * math.pi * f[:, None] * offsets[None] / n)


def response(size: int, sigma: float, n: int = IMAGE_SIZE) -> torch.Tensor:
    """|H(fx, fy)|² of one step kernel applied circularly to n×n images, (n, n) float64 (the kernel is
    symmetric, so its transfer function is real)."""
    h = _cosines(size, n) @ gaussian_1d(size, sigma)
    return torch.outer(h * h, h * h)


@lru_cache(maxsize=1)
def digit_spectrum() -> torch.Tensor:
    """Variance across the bundled digits of each Fourier coefficient, DC left out, normalised to sum 1."""
    x = bundled_digits(SPECTRUM_IMAGES).double()[:, 0]
    coeffs = torch.fft.fft2(x)
    power = (coeffs - coeffs.mean(0)).abs().pow(2).mean(0)
    power[0, 0] = 0.0
    return power / power.sum()


def _sigma_for(target: float, cumulative: torch.Tensor, size: int, power: torch.Tensor) -> float | None:
    """The step σ that brings the share from `cumulative` down to `target`; None if no kernel reaches it."""

    def share(sigma: float) -> float:
        return float((power * cumulative * response(size, sigma)).sum())

    if share(SIGMA_MIN) <= target:
        return SIGMA_MIN
    if share(SIGMA_MAX) > target:
        return None
    lo, hi = math.log(SIGMA_MIN), math.log(SIGMA_MAX)
    for _ in range(32):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if share(math.exp(mid)) > target else (lo, mid)
    return math.exp(hi)


def _even_try(final: float, size: int, n_T: int, power: torch.Tensor) -> list[float] | None:
    cumulative = torch.ones_like(power)
    sigmas = []
    for t in range(1, n_T + 1):
        sigma = _sigma_for(1.0 - t / n_T * (1.0 - final), cumulative, size, power)
        if sigma is None:
            return None
        sigmas.append(sigma)
        cumulative = cumulative * response(size, sigma)
    return sigmas


@lru_cache(maxsize=32)
def even_sigmas(size: int, std: float, n_T: int) -> tuple[float, ...]:
    """Per-step σ so the shape variance falls by equal amounts from 1 to the final share of n_T constant-σ
    steps (the same final blur); when one kernel of this size cannot remove that much per step, to the
    lowest final share it can reach with equal steps."""
    power = digit_spectrum()
    goal = float((power * response(size, std) ** n_T).sum())
    found = _even_try(goal, size, n_T, power)
    if found is not None:
        return tuple(found)
    lo, hi = goal, 1.0  # infeasible at lo, feasible at hi (no blur at all)
    best = _even_try(hi, size, n_T, power)
    for _ in range(24):
        mid = (lo + hi) / 2
        got = _even_try(mid, size, n_T, power)
        if got is None:
            lo = mid
        else:
            hi, best = mid, got
    return tuple(best)
