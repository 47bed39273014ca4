"""How much the closed form saves: D(x0, t) for a training batch (t uniform in 1..n_T) by one FFT
with the cumulative kernel spectrum (circular padding) against the first t kernels applied one after
another (the definition; reflect and zero padding always take this path). Prints times and ratios.

    python benchmarks/bench_cold_blur.py [--batch 128] [--n-T 20,100] [--kernel 13]
"""

from __future__ import annotations

import argparse
import time

import torch

from diffdash.degradations.blur import Blur


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--n-T", default="20,100")
    ap.add_argument("--kernel", type=int, default=13)
    args = ap.parse_args()
    g = torch.Generator().manual_seed(0)
    x = torch.rand((args.batch, 1, 28, 28), generator=g) - 0.5
    for n_T in [int(v) for v in args.n_T.split(",")]:
        deg = Blur(n_T, kernel_size=args.kernel, kernel_std=7.0)
        t = torch.randint(1, n_T + 1, (args.batch,), generator=g)
        fft = best_of(lambda: deg(x, t))  # noqa: B023 - timed immediately
        it = best_of(lambda: deg.iterated(x, t))  # noqa: B023
        err = float((deg(x, t) - deg.iterated(x, t)).abs().max())
        print(
            f"n_T {n_T:5d}  closed form {fft * 1e3:8.2f} ms  iterated {it * 1e3:8.2f} ms  "
            f"ratio {it / fft:6.1f}x  max |diff| {err:.1e}"
        )


if __name__ == "__main__":
    main()
