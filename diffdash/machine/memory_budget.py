"""Memory estimates made before anything is allocated, so a configuration that cannot fit is refused with
a message instead of a 20 GB allocation, an OOM kill or a traceback.

The figures come from the network itself, built on torch's `meta` device (shapes only, no memory): its
parameter count, and the floats every layer outputs for one image, which training keeps for the backward pass
(and their gradients). Any network in the registry (diffdash/models) is measured the same way. The figures are
rough on purpose (within a factor of ~2); the limit they are checked against is the memory free now.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from diffdash.options.run_config import RunConfig

PIXELS = 28 * 28
FLOAT = 4
TRAIN_ACTIVATION_COPIES = 2  # every layer's output, kept for the backward pass, and its gradient
SAMPLE_ACTIVATION_COPIES = 1  # no graph: about one layer's output alive at a time, counted whole to be safe
OPTIMIZER_COPIES = 4  # weights, grads, Adam's two moments
HEADROOM = 0.8  # use at most this share of the free memory


class MemoryBudgetError(ValueError):
    """A configuration that needs more memory than the device has free; `param` names the option to change."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


class NetworkSize(NamedTuple):
    parameters: int
    activations: int  # floats the network's layers output for one image


def network_size(config: RunConfig) -> NetworkSize:
    """The run's network measured on the meta device: nothing is allocated and no RNG is touched."""
    options = tuple((o.name, _frozen(getattr(config, o.name))) for o in _network_options(config))
    return _measure(getattr(config, "net", "cnn"), options)


def _network_options(config: RunConfig) -> list:
    from diffdash.options.table import OPTIONS

    return [o for o in OPTIONS if o.network and o.applies(config)]


def _frozen(value):
    return tuple(value) if isinstance(value, list) else value


@lru_cache(maxsize=16)
def _measure(net: str, options: tuple) -> NetworkSize:
    import torch

    from diffdash.models import network_class

    config = type("NetworkOptions", (), {name: list(v) if isinstance(v, tuple) else v for name, v in options})
    with torch.device("meta"):
        module = network_class(net).from_config(config)
        outputs = []
        hooks = [
            m.register_forward_hook(lambda _m, _i, out: outputs.append(out.numel()))
            for m in module.modules()
            if not list(m.children())
        ]
        module(torch.zeros(1, 1, 28, 28), torch.zeros(1))
    for hook in hooks:
        hook.remove()
    return NetworkSize(sum(p.numel() for p in module.parameters()), sum(outputs))


def training_bytes(config: RunConfig, batch_size: int, n_images: int) -> int:
    size = network_size(config)
    params = size.parameters * FLOAT * (OPTIMIZER_COPIES + (1 if config.ema is not None else 0))
    activations = batch_size * size.activations * FLOAT * TRAIN_ACTIVATION_COPIES
    return params + activations + n_images * PIXELS * FLOAT


def sampling_bytes(config: RunConfig, batch: int, n: int) -> int:
    """A sampling pass over `batch` images at a time, keeping all `n` results."""
    size = network_size(config)
    return size.parameters * FLOAT + batch * size.activations * FLOAT * SAMPLE_ACTIVATION_COPIES + n * PIXELS * FLOAT


def describe_network(config: RunConfig) -> str:
    """'cnn 16,32,32,16' or 'unet 32,64,128': the network and its widths, for messages that say what to shrink."""
    widths = next((getattr(config, o.name) for o in _network_options(config) if o.type == "list[int]"), None)
    net = getattr(config, "net", "cnn")
    return f"{net} {','.join(map(str, widths))}" if widths else net


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


TORCH_PROCESS_BYTES = 500_000_000  # one worker process with torch imported, before any tensor (measured ~0.47 GB)


def workers_problem(nproc: int, per_worker: int, cores: int, free: int | None, device: str = "cpu") -> str | None:
    """Why `nproc` worker processes cannot run here, or None: each needs a core of its own (more would only
    take turns, slower than fewer), and together their memory (`per_worker` bytes each plus torch's own
    baseline) must fit in the usable share of the memory free now."""
    if nproc > cores:
        return f"--nproc {nproc} needs a CPU core per worker and this machine has {cores}: use --nproc {cores} or fewer"
    each = per_worker + TORCH_PROCESS_BYTES
    if free is not None and nproc * each > free * HEADROOM:
        most = int(free * HEADROOM // each)
        advice = f"use --nproc {most} or fewer" if most >= 1 else "free some memory or use a smaller configuration"
        return (
            f"--nproc {nproc} needs about {gb(nproc * each)} of memory ({gb(each)} per worker, torch included) "
            f"but {device} has {gb(free)} free: {advice}"
        )
    return None
