"""Precision and threads: what `auto` picks on which hardware, and the words that say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffdash.machine import devices
from diffdash.machine.devices import DeviceError, apply_threads, cpu_features, describe_cpu, resolve_precision


def cpuinfo_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        pytest.skip("no /proc/cpuinfo on this system")
    return set(next(line for line in text.splitlines() if line.startswith("flags")).split(":", 1)[1].split())


def test_cpu_features_read_the_real_cpu():
    flags, f = cpuinfo_flags(), cpu_features()
    assert f["avx2"] == ("avx2" in flags) and f["avx512"] == ("avx512f" in flags)
    assert f["avx512_bf16"] == ("avx512_bf16" in flags)
    assert describe_cpu().startswith("AVX2 ") and "AVX512-BF16" in describe_cpu() and "AMX" in describe_cpu()


def test_auto_is_bf16_only_where_the_cpu_has_it_natively(monkeypatch):
    f = cpu_features()
    precision, why = resolve_precision("cpu", "auto")
    if f["avx512_bf16"] or f["amx"]:
        assert precision == "bf16" and why in ("auto: CPU has AMX", "auto: CPU has AVX512-BF16")
    else:
        assert precision == "fp32" and "neither AVX512-BF16 nor AMX" in why
    avx2_only = {"avx2": True, "avx512": False, "avx512_bf16": False, "amx": False}
    monkeypatch.setattr(devices, "cpu_features", lambda: avx2_only)  # the AVX2-only CPUs diffdash also runs on
    why = "auto: CPU has neither AVX512-BF16 nor AMX (bf16 would be emulated)"
    assert resolve_precision("cpu", "auto") == ("fp32", why)
    assert resolve_precision("cpu", "bf16") == ("bf16", "bf16 as asked"), "an explicit choice is kept"
    assert resolve_precision("cpu", "fp32") == ("fp32", "fp32 as asked")


def test_unknown_precision_is_refused():
    with pytest.raises(DeviceError, match="choose auto, fp32 or bf16"):
        resolve_precision("cpu", "fp8")


def test_threads_default_to_every_core():
    import torch

    before = torch.get_num_threads()
    try:
        assert apply_threads(1) == 1
        assert apply_threads(None) == devices.available_cores()
    finally:
        torch.set_num_threads(before)
