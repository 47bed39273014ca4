"""Pick the training device, its precision and its threads, and check that what was asked for works there."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRECISION_CHOICES = ("auto", "fp32", "bf16")


class DeviceError(ValueError):
    """The device or precision asked for is not available on this machine."""


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device 'cuda' was asked for but no CUDA GPU is available here (use --device cpu or auto)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DeviceError("device 'mps' was asked for but Apple's MPS is not available here (use --device cpu or auto)")
    if name not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"unknown device {name!r}: choose auto, cpu, cuda or mps")
    return name


def cpu_features() -> dict[str, bool]:
    """The CPU's vector units that decide how fast training is: AVX2, AVX-512, AVX512-BF16, AMX.

    Read from /proc/cpuinfo where there is one (Linux), else from torch's own CPU probe.
    """
    flags: set[str] = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    if flags:
        return {
            "avx2": "avx2" in flags,
            "avx512": "avx512f" in flags,
            "avx512_bf16": "avx512_bf16" in flags,
            "amx": "amx_bf16" in flags or "amx_tile" in flags,
        }
    import torch

    def probe(name: str) -> bool:
        fn = getattr(torch.cpu, name, None)
        return bool(fn()) if fn is not None else False

    return {
        "avx2": probe("_is_avx2_supported"),
        "avx512": probe("_is_avx512_supported"),
        "avx512_bf16": probe("_is_avx512_bf16_supported"),
        "amx": probe("_is_amx_tile_supported"),
    }


def describe_cpu(features: dict[str, bool] | None = None) -> str:
    """'AVX2 yes, AVX-512 yes, AVX512-BF16 yes, AMX no': the line benchmarks print beside their ratios."""
    f = features if features is not None else cpu_features()
    names = (("avx2", "AVX2"), ("avx512", "AVX-512"), ("avx512_bf16", "AVX512-BF16"), ("amx", "AMX"))
    return ", ".join(f"{label} {'yes' if f.get(key) else 'no'}" for key, label in names)


def native_bf16(device: str) -> tuple[bool, str]:
    """Whether bf16 runs natively (not emulated) on `device`, and the hardware fact that says so."""
    import torch

    if device == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return True, f"CUDA device {torch.cuda.get_device_name()} has native bf16"
        return False, f"CUDA device {torch.cuda.get_device_name()} has no native bf16"
    if device == "cpu":
        f = cpu_features()
        if f["amx"]:
            return True, "CPU has AMX"
        if f["avx512_bf16"]:
            return True, "CPU has AVX512-BF16"
        return False, "CPU has neither AVX512-BF16 nor AMX (bf16 would be emulated)"
    return False, f"bf16 autocast is not chosen automatically on {device}"


def resolve_precision(device: str, precision: str) -> tuple[str, str]:
    """'auto' -> ('bf16' or 'fp32', why); an explicit choice is checked and kept."""
    if precision not in PRECISION_CHOICES:
        raise DeviceError(f"unknown precision {precision!r}: choose auto, fp32 or bf16")
    if precision != "auto":
        check_precision(device, precision)
        return precision, f"{precision} as asked"
    native, why = native_bf16(device)
    if native:
        try:
            check_precision(device, "bf16")
        except DeviceError as exc:
            return "fp32", f"auto: {why}, but bf16 autocast failed ({exc})"
        return "bf16", f"auto: {why}"
    return "fp32", f"auto: {why}"


def check_precision(device: str, precision: str) -> None:
    """Run one tiny autocast op so an unsupported combination fails now, with a clear message."""
    import torch

    if precision in ("fp32", "auto"):
        return  # auto falls back to fp32 wherever bf16 would fail
    if precision != "bf16":
        raise DeviceError(f"unknown precision {precision!r}: choose auto, fp32 or bf16")
    if device == "cuda" and not torch.cuda.is_bf16_supported():
        raise DeviceError("bf16 is not supported by this CUDA GPU: use --precision fp32")
    try:
        with autocast(device, precision):
            x = torch.ones(1, 1, 4, 4, device=device)
            torch.nn.functional.conv2d(x, torch.ones(1, 1, 3, 3, device=device))
    except Exception as exc:  # noqa: BLE001
        raise DeviceError(f"bf16 autocast does not work on {device} here ({exc}): use --precision fp32") from exc


def available_cores() -> int:
    """The cores this process may run on (the affinity mask where the OS has one)."""
    with contextlib.suppress(AttributeError, OSError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def apply_threads(threads: int | None) -> int:
    """Set torch's intra-op threads (None: all cores) and return the number in use."""
    import torch

    n = threads or available_cores()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def autocast(device: str, precision: str):
    """bf16 autocast, or nothing: `precision` is the resolved one (never 'auto')."""
    import torch

    if precision == "bf16":
        return torch.autocast(device_type=device, dtype=torch.bfloat16)
    return contextlib.nullcontext()
