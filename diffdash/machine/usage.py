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


def _cpu_and_rss(pid: int) -> tuple[float, int] | None:
    """(CPU seconds, resident bytes) of one process, None when it cannot be read (gone, or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/statm") as f:
            rss_pages = int(f.read().split()[1])
        return (int(fields[11]) + int(fields[12])) / _TICKS, rss_pages * _PAGE  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def _children(pid: int) -> list[int]:
    """Direct children, from every thread's /proc/PID/task/TID/children (a few small reads, no /proc scan)."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/task/{tid}/children") as f:
            out += [int(c) for c in f.read().split()]
    return out


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (torchrun's agent and the workers it started)."""
    tree, todo = [], [pid]
    while todo and len(tree) < 4096:
        p = todo.pop()
        tree.append(p)
        todo += _children(p)
    return tree


class ProcessMeter:
    """Successive readings of one process, or with `tree=True` of it and its descendants summed (the
    workers under torchrun); `read()` returns {} when the process is not readable."""

    def __init__(self) -> None:
        self._last: tuple[int, dict[int, float], float] | None = None  # root pid, cpu seconds by pid, wall clock
        self._percent: float | None = None

    def read(self, pid: int | None, tree: bool = False) -> dict[str, Any]:
        if not pid:
            return {}
        cpu: dict[int, float] = {}
        rss = 0
        for p in process_tree(pid) if tree else [pid]:
            figures = _cpu_and_rss(p)
            if figures is None:
                if p == pid:
                    return {}
                continue  # a worker that just left
            cpu[p], rss = figures[0], rss + figures[1]
        now = time.monotonic()
        out: dict[str, Any] = {"rss_bytes": rss, "cpus": os.cpu_count() or 1}
        if tree:
            out["processes"] = len(cpu)
        same = self._last is not None and self._last[0] == pid
        if same and now - self._last[2] < MIN_WINDOW_S:
            if self._percent is not None:  # readings close together (a busy UI catching up) say nothing new
                out["cpu_percent"] = self._percent
            return out
        if same:
            before = self._last[1]  # a process started since the last reading counts all its CPU time
            used = sum(max(0.0, s - before.get(p, 0.0)) for p, s in cpu.items())
            self._percent = 100.0 * used / (now - self._last[2])
            out["cpu_percent"] = self._percent
        self._last = (pid, cpu, now)
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
