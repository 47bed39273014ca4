"""The training process's CPU, memory and (on CUDA) GPU memory every few seconds, as `system` events.

The dashboard's system line shows the current reading; these samples make it a history in metrics.jsonl,
drawn by the chart (`g`) and listed by `watch --plain`. A reading is a few small /proc reads (machine/usage.py),
so sampling every SYSTEM_EVERY_S costs nothing measurable. With several workers rank 0 samples the node's
launcher and every worker under it (`tree`), as the dashboard's line does.
"""

from __future__ import annotations

import os
import time
from typing import Any

from diffdash.distributed.launch import LAUNCHER_ENV
from diffdash.machine.usage import ProcessMeter, cuda_figures

SYSTEM_EVERY_S = 5.0
KEPT = ("cpu_percent", "rss_bytes", "cpus", "processes", "gpu_mem_bytes", "gpu_total_bytes")


def sampled_process() -> tuple[int, bool]:
    """(pid, whether to sum its descendants): a worker's launcher and everything under it, else this process."""
    launcher = os.environ.get(LAUNCHER_ENV, "")
    return (int(launcher), True) if launcher.isdigit() else (os.getpid(), False)


class SystemSamples:
    """`due()` once every `every_s`; `read()` the figures then (an empty dict where /proc is missing)."""

    def __init__(self, pid: int | None = None, *, tree: bool = False, every_s: float | None = None):
        self.pid, self.tree = (pid, tree) if pid else sampled_process()
        self.every_s = SYSTEM_EVERY_S if every_s is None else every_s
        self.meter = ProcessMeter()
        self.meter.read(self.pid, tree=tree)  # the first sample's CPU % is measured from here
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every_s

    def read(self, cuda: bool = False) -> dict[str, Any]:
        self.last = time.monotonic()
        figures = self.meter.read(self.pid, tree=self.tree)
        if cuda:
            figures.update(cuda_figures())
        out = {k: figures[k] for k in KEPT if k in figures}
        if "cpu_percent" in out:
            out["cpu_percent"] = round(out["cpu_percent"], 1)
        return out if "rss_bytes" in out else {}
