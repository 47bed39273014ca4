"""How close a training step comes to what this CPU does on dense work: the step's FLOPs against a matmul's rate.

A CNN step that already runs at (or above) a large matmul's rate cannot be made much faster by scheduling,
fusion or threads; only fewer FLOPs (a different network) or a faster number format would. The matmul rate
is a reference, not a hard ceiling (oneDNN's convolutions can beat a 2048x2048 matmul). `bench_engine.py`
prints this beside its table so that a missed speed target can be told apart from an unattacked one.
"""

from __future__ import annotations

import time

import torch


def step_flops_per_image(n_hidden: list[int], batch: int = 128) -> float:
    """FLOPs of one forward + backward pass of the coursework CNN, per image (torch's own FLOP counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    from diffdash.models import build_network
    from diffdash.options.run_config import RunConfig

    net = build_network(RunConfig(n_hidden=list(n_hidden)))
    x, t = torch.randn(batch, 1, 28, 28), torch.rand(batch)
    with FlopCounterMode(display=False) as counter:
        net(x, t).float().pow(2).mean().backward()
    return counter.get_total_flops() / batch


def matmul_gflops(dtype: torch.dtype, n: int = 2048, seconds: float = 2.0) -> float:
    """The rate of a square matmul in `dtype` on the current threads: the practical ceiling for dense work."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    torch.mm(a, b)  # warm-up: oneDNN/BLAS picks its kernel
    runs, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        torch.mm(a, b)
        runs += 1
    return 2 * n**3 * runs / elapsed / 1e9


def report(rows: dict[str, dict], n_hidden: list[int]) -> list[str]:
    """Lines giving each row's training GFLOP/s as a share of the matmul rate for its precision, and the ratio
    to the starter that training at that rate would give (validation and grid as measured)."""
    per_image = step_flops_per_image(n_hidden)
    peak = {"fp32": matmul_gflops(torch.float32), "bf16": matmul_gflops(torch.bfloat16)}
    lines = [
        f"roofline: one training step is {per_image / 1e6:.0f} MFLOP per image (forward + backward); "
        f"a 2048x2048 matmul on these threads: fp32 {peak['fp32']:.0f} GFLOP/s, bf16 {peak['bf16']:.0f} GFLOP/s"
    ]
    base = rows.get("starter notebook loop")
    for name, r in rows.items():
        used = "bf16" if "bf16" in r.get("precision", "").split("->")[-1] else "fp32"
        rate = per_image * r["images"] / r["train"] / 1e9
        line = f"  {name:28} training {rate:5.0f} GFLOP/s = {rate / peak[used]:4.0%} of the {used} matmul rate"
        if base:
            floor = per_image * r["images"] / (peak[used] * 1e9) + r["val"] + r["grid"]
            line += f"; at that rate the epoch would take {floor:5.1f} s, ratio {base['total'] / floor:4.2f}"
        lines.append(line)
    return lines
