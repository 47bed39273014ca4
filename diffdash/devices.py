"""Pick the training device and check that the asked-for precision works there."""

from __future__ import annotations

import contextlib


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


def check_precision(device: str, precision: str) -> None:
    """Run one tiny autocast op so an unsupported combination fails now, with a clear message."""
    import torch

    if precision == "fp32":
        return
    if precision != "bf16":
        raise DeviceError(f"unknown precision {precision!r}: choose fp32 or bf16")
    if device == "cuda" and not torch.cuda.is_bf16_supported():
        raise DeviceError("bf16 is not supported by this CUDA GPU: use --precision fp32")
    try:
        with autocast(device, precision):
            x = torch.ones(1, 1, 4, 4, device=device)
            torch.nn.functional.conv2d(x, torch.ones(1, 1, 3, 3, device=device))
    except Exception as exc:  # noqa: BLE001
        raise DeviceError(f"bf16 autocast does not work on {device} here ({exc}): use --precision fp32") from exc


def autocast(device: str, precision: str):
    import torch

    if precision == "bf16":
        return torch.autocast(device_type=device, dtype=torch.bfloat16)
    return contextlib.nullcontext()
