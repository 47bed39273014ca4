"""CPU and memory of a training process, and the GPU's memory and load, for the dashboard.

Read from /proc (Linux) so nothing extra is needed; where /proc is missing the figures are simply
absent. CPU % is the process's CPU time over wall time since the previous reading (100 % = one
core), the way `top` shows it.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
MIN_WINDOW_S = 1.0  # CPU time moves in 10 ms ticks: a shorter window gives 0 % or thousands


class ProcessMeter:
    """Successive readings of one process; `read()` returns {} when the process is not readable."""

    def __init__(self) -> None:
        self._last: tuple[int, float, float] | None = None  # pid, cpu seconds, wall clock
        self._percent: float | None = None

    def read(self, pid: int | None) -> dict[str, Any]:
        if not pid:
            return {}
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/statm") as f:
                rss_pages = int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            return {}
        cpu_s = (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
        now = time.monotonic()
        out: dict[str, Any] = {"rss_bytes": rss_pages * _PAGE, "cpus": os.cpu_count() or 1}
        if self._last is not None and self._last[0] == pid and now - self._last[2] < MIN_WINDOW_S:
            if self._percent is not None:  # readings close together (a busy UI catching up) say nothing new
                out["cpu_percent"] = self._percent
            return out
        if self._last is not None and self._last[0] == pid:
            self._percent = 100.0 * (cpu_s - self._last[1]) / (now - self._last[2])
            out["cpu_percent"] = self._percent
        self._last = (pid, cpu_s, now)
        return out


def cuda_figures() -> dict[str, Any]:
    """Memory this process holds on the current CUDA device, its total, and utilisation where NVML answers."""
    import torch

    if not torch.cuda.is_available():
        return {}
    dev = torch.cuda.current_device()
    out: dict[str, Any] = {
        "gpu_mem_bytes": torch.cuda.memory_reserved(dev),
        "gpu_total_bytes": torch.cuda.get_device_properties(dev).total_memory,
    }
    with contextlib.suppress(Exception):  # utilisation needs NVML (pynvml); without it the figure is left out
        out["gpu_util_percent"] = float(torch.cuda.utilization(dev))
    return out
