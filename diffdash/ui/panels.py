"""The dashboard's text panels: run header, progress bars with rate/ETA, and the eval summary.

They render from plain dicts (no clocks read here), so a snapshot of a recorded run is stable.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from diffdash.formats import format_clock
from diffdash.models import network_text

BLOCKS = " ▁▂▃▄▅▆▇█"
STATE_STYLE = {
    "created": "bold blue",
    "running": "bold green",
    "paused": "bold yellow",
    "finished": "bold cyan",
    "stopped": "bold yellow",
    "failed": "bold red",
    "crashed": "bold red",
    "waiting": "dim",
    "starting": "bold",
    "stopping": "bold yellow",
}


def header_text(run_id: str, config: dict[str, Any], state: str, *, read_only: bool = False) -> Text:
    """run id · state (· read-only) · model [network] · params · device precision · data used."""
    params = config.get("parameters")
    data = config.get("data") or {}
    limit = config.get("train_limit")
    n_train = config.get("n_train") or (min(limit, data["n_train"]) if limit and "n_train" in data else limit)
    data_text = data.get("name") or config.get("dataset", "?")
    if data.get("fallback_from"):
        data_text = "bundled subset, no full MNIST"  # short: the header is one line
    if n_train:
        data_text += f" ({n_train:,} train"
        data_text += f" / {config['n_val']:,} val)" if config.get("n_val") else ")"
    device = config.get("resolved_device") or config.get("device", "?")
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(run_id, style="bold")
    t.append(" ")
    t.append(f" {state} ", style=f"reverse {STATE_STYLE.get(state, '')}")
    if read_only:
        t.append(" read-only", style="dim")
    t.append(f"  {config.get('model', '?')} [{network_text(config)}]")
    t.append(f"  {params:,} params" if params else "  … params")
    t.append(f"  {device} {config.get('resolved_precision') or config.get('precision', '')}")
    t.append(f"  {data_text}")
    return t


def bar(frac: float, width: int) -> str:
    width = max(width, 1)
    filled = frac * width
    full = int(filled)
    part = "▏▎▍▌▋▊▉"[int((filled - full) * 7)] if full < width and filled - full >= 1 / 7 else ""
    return ("█" * full + part).ljust(width, "·")


class ProgressPanel(Widget):
    """Two lines: epoch bar with step/loss (or the phase: loading, validating, sampling), run bar with
    training images/s, elapsed and ETA."""

    DEFAULT_CSS = "ProgressPanel { height: 2; width: 1fr; }"

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.figures: dict[str, Any] = {}

    def set_figures(self, figures: dict[str, Any]) -> None:
        if figures != self.figures:
            self.figures = dict(figures)
            self.refresh()

    def render(self) -> Text:
        f = self.figures
        width = self.size.width or 80
        epochs = f.get("epochs") or 0
        label1 = f"epoch {f.get('epoch', 0):>3}/{epochs:<3}"
        label2 = "run".ljust(len(label1))
        loss = f.get("loss")
        rate = f.get("images_per_s")
        tail1 = f" {f.get('epoch_frac', 0):4.0%}  step {f.get('step', 0):,}/{f.get('steps', 0):,}"
        tail1 += f"  loss {loss:.4f}" if loss is not None else "  loss -"
        if f.get("phase"):
            tail1 = f" {f.get('epoch_frac', 0):4.0%}  {f['phase']}"
        tail2 = f" {f.get('run_frac', 0):4.0%}  {rate:,.0f} img/s" if rate else f" {f.get('run_frac', 0):4.0%}  - img/s"
        tail2 += f"  elapsed {format_clock(f.get('elapsed'))}"
        if f.get("running", True):
            tail2 += f"  ETA {format_clock(f.get('eta'))}"
        else:  # a run that is over: its training seconds (validation and previews left out), as every view says
            tail2 += f"  training {format_clock(f.get('train_time'))}"
        bar_w = max(width - len(label1) - max(len(tail1), len(tail2)) - 2, 8)
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(label1 + " ", style="bold")
        t.append(bar(f.get("epoch_frac", 0.0), bar_w), style="green")
        if f.get("phase"):
            t.append(tail1[: -len(f["phase"])])
            t.append(f["phase"], style="bold yellow")
            t.append("\n")
        else:
            t.append(tail1 + "\n")
        t.append(label2 + " ", style="bold")
        t.append(bar(f.get("run_frac", 0.0), bar_w), style="cyan")
        t.append(tail2)
        return t


def eval_text(evals: list[dict[str, Any]]) -> Text:
    """Latest FID and a one-line bar chart of predicted digit classes (schema of the eval event)."""
    t = Text(no_wrap=True, overflow="ellipsis")
    if not evals:
        t.append("no evaluation yet", style="dim")
        return t
    e = evals[-1]
    fid = e.get("fid")
    t.append("FID ", style="bold")
    t.append(f"{fid:.2f}" if isinstance(fid, int | float) else "-")
    if len(evals) > 1 and isinstance(evals[-2].get("fid"), int | float) and isinstance(fid, int | float):
        delta = fid - evals[-2]["fid"]
        t.append(f" (Δ {delta:+.2f} vs last eval)", style="green" if delta < 0 else "red")
    t.append(f"  epoch {e.get('epoch')} {e.get('weights', '')}", style="dim")
    hist = e.get("histogram") or []
    if hist:
        top = max(max(hist), 1)
        t.append("\n")
        t.append("".join(BLOCKS[round(h / top * 8)] * 2 + " " for h in hist), style="magenta")
        t.append("\n" + "".join(f"{d}  " for d in range(len(hist))), style="dim")
    return t
