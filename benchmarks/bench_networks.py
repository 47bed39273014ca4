"""The registry's networks side by side: parameters, FLOPs per image of a training step, training images/s.

    python benchmarks/bench_networks.py [--threads 2] [--batch 128] [--seconds 8] [--precision fp32]

Each network takes real Adam steps on random digits through the fast memory layout the engine uses
(diffdash.models.use_fast_layout), and also without it, so the layout's gain is measured per network.
FLOPs are torch's own counter (torch.utils.flop_counter) over one forward and backward pass. Ratios are
against the coursework CNN; the figures depend on this CPU and its load, the ratios much less.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from diffdash.machine.devices import autocast
from diffdash.models import build_network, count_parameters, use_fast_layout
from diffdash.options.run_config import RunConfig

NETWORKS = {
    "cnn 16,32,32,16 (coursework)": dict(net="cnn"),
    "unet 16,32,64": dict(net="unet", unet_channels=[16, 32, 64]),
    "unet 24,48,96": dict(net="unet", unet_channels=[24, 48, 96]),
    "unet 32,64,128": dict(net="unet", unet_channels=[32, 64, 128]),
}


def flops_per_image(net: torch.nn.Module, batch: int) -> float:
    x, t = torch.randn(batch, 1, 28, 28), torch.rand(batch)
    with FlopCounterMode(display=False) as counter:
        net(x, t).float().pow(2).mean().backward()
    return counter.get_total_flops() / batch


def images_per_s(net: torch.nn.Module, batch: int, seconds: float, precision: str, fast: bool) -> float:
    if fast:
        net = use_fast_layout(net, "cpu")
    opt = torch.optim.Adam(net.parameters(), lr=2e-4, foreach=True)
    x, t = torch.randn(batch, 1, 28, 28), torch.rand(batch)

    def step() -> None:
        with autocast("cpu", precision):
            loss = (net(x, t).float() - x).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):
        step()  # warm-up: oneDNN picks its kernels
    steps, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        step()
        steps += 1
    return steps * batch / elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name, options in NETWORKS.items():
        config = RunConfig(**options).validate()
        flops = flops_per_image(build_network(config), args.batch)
        plain = images_per_s(build_network(config), args.batch, args.seconds, args.precision, fast=False)
        fast = images_per_s(build_network(config), args.batch, args.seconds, args.precision, fast=True)
        rows.append((name, count_parameters(build_network(config)), flops, plain, fast))
    base = rows[0]
    print(f"{args.threads} threads, batch {args.batch}, {args.precision}; training steps (forward, backward, Adam)")
    print(f"{'network':30s} {'params':>10s} {'MFLOP/img':>10s} {'img/s':>7s} {'fast layout':>12s} "
          f"{'FLOPs vs cnn':>13s} {'img/s vs cnn':>13s}")  # fmt: skip
    for name, params, flops, plain, fast in rows:
        best = max(plain, fast)
        print(
            f"{name:30s} {params:>10,} {flops / 1e6:>10.1f} {plain:>7.0f} {fast:>7.0f} ({fast / plain:.2f}x)"
            f" {flops / base[2]:>12.2f}x {best / max(base[3], base[4]):>12.2f}x"
        )


if __name__ == "__main__":
    main()
