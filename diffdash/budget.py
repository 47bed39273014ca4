"""Memory estimates made before anything is allocated, so a configuration that cannot fit is refused with
a message instead of a 20 GB allocation, an OOM kill or a traceback.

The starter CNN keeps every block's activations at full 28x28 resolution, so its memory is dominated by
batch x (sum of channels) x 784 floats, kept several times over for the backward pass. The figures are
rough on purpose (within a factor of ~2); the limit they are checked against is the memory free now.
Torch-free: the numbers come from the architecture's formula, not from building it.
"""

from __future__ import annotations

from collections.abc import Sequence

PIXELS = 28 * 28
FLOAT = 4
TRAIN_ACTIVATION_COPIES = 5  # conv out, norm out, GELU out, their grads, the time embedding sum
SAMPLE_ACTIVATION_COPIES = 3
OPTIMIZER_COPIES = 4  # weights, grads, Adam's two moments
HEADROOM = 0.8  # use at most this share of the free memory


class MemoryBudgetError(ValueError):
    """A configuration that needs more memory than the device has free; `param` names the option to change."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


def parameter_count(n_hidden: Sequence[int], norm: str = "chw", time_embeddings: int = 16) -> int:
    """CNN(n_hidden)'s parameter count, by formula (diffdash.models.cnn)."""
    total, last = 0, 1
    for ch in n_hidden:
        total += last * ch * 49 + ch  # 7x7 conv
        total += 2 * (ch * PIXELS if norm == "chw" else PIXELS)  # LayerNorm weight and bias
        last = ch
    total += last * 9 + 1  # 3x3 conv back to one channel
    total += (2 * time_embeddings) * 128 + 128 + 2 * (128 * 128 + 128) + 128 * n_hidden[0] + n_hidden[0]
    return total


def training_bytes(
    n_hidden: Sequence[int], batch_size: int, n_images: int, norm: str = "chw", ema: bool = False
) -> int:
    params = parameter_count(n_hidden, norm) * FLOAT * (OPTIMIZER_COPIES + (1 if ema else 0))
    activations = batch_size * sum(n_hidden) * PIXELS * FLOAT * TRAIN_ACTIVATION_COPIES
    return params + activations + n_images * PIXELS * FLOAT


def sampling_bytes(n_hidden: Sequence[int], batch: int, n: int, norm: str = "chw") -> int:
    """A sampling pass over `batch` images at a time, keeping all `n` results."""
    params = parameter_count(n_hidden, norm) * FLOAT
    activations = batch * sum(n_hidden) * PIXELS * FLOAT * SAMPLE_ACTIVATION_COPIES
    return params + activations + n * PIXELS * FLOAT


def free_bytes(device: str) -> int | None:
    """Memory free on `device` now (CPU: MemAvailable; CUDA: the driver's figure); None when unknown."""
    if device.startswith("cuda"):
        try:
            import torch

            return int(torch.cuda.mem_get_info()[0])
        except Exception:  # noqa: BLE001 - no figure means no check, never a failure
            return None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


def check_fits(needed: int, device: str, param: str, what: str, advice: str, free: int | None = None) -> None:
    """MemoryBudgetError when `needed` bytes exceed the usable share of what `device` has free."""
    free = free_bytes(device) if free is None else free
    if free is not None and needed > free * HEADROOM:
        raise MemoryBudgetError(
            param, f"{what} needs about {gb(needed)} of memory but {device} has {gb(free)} free: {advice}"
        )
