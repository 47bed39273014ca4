"""One line of system figures under the sample grid: CPU %, process memory, and GPU memory/load on CUDA."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from diffdash.machine.usage import ProcessMeter, cuda_figures

_METER = ProcessMeter()


def system_figures(pid: int | None, cuda: bool = False, tree: bool = False) -> dict[str, Any]:
    """The training process's figures (pid None: another host, nothing to read) and, in-process, CUDA's;
    `tree`: `pid` and its descendants summed (torchrun and its workers)."""
    out = _METER.read(pid, tree=tree)
    if cuda:
        out.update(cuda_figures())
    return out


def gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def system_text(f: dict[str, Any]) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis", style="dim")
    if not f:
        return t
    if "cpu_percent" in f:
        t.append(f"CPU {f['cpu_percent']:.0f}% of {f['cpus']}  ")
    t.append(f"mem {gb(f['rss_bytes'])}" if "rss_bytes" in f else "")
    if "processes" in f:
        t.append(f" in {f['processes']} processes")  # torchrun's agent and its workers
    if "gpu_mem_bytes" in f:
        t.append(f"  GPU {gb(f['gpu_mem_bytes'])}/{gb(f['gpu_total_bytes'])}")
        if "gpu_util_percent" in f:
            t.append(f" {f['gpu_util_percent']:.0f}%")
    return t


class SystemLine(Static):
    DEFAULT_CSS = "SystemLine { height: 1; width: 1fr; padding: 0 1; }"

    def update_figures(self, figures: dict[str, Any]) -> None:
        self.figures = figures
        self.update(system_text(figures))
