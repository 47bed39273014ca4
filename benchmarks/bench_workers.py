"""Training images/s with 1 worker process against N (torchrun, DDP over gloo on CPU), back to back.

Each variant is a real `diffdash new --headless` run (subprocess) on the same config; the figure is the
`images_per_s` of its last epoch event (training steps only: validation and previews are left out), and
the ratio is N workers over 1. Threads: --threads in all, split evenly between the workers.

    python benchmarks/bench_workers.py --nproc 2 --limit 12800      # 100 steps of 128 per epoch
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_MNIST = REPO.parent / "shared" / "mnist"


def one(nproc: int, args: argparse.Namespace, root: Path) -> tuple[float, float]:
    """(training images/s of the last epoch, wall seconds of the whole command)."""
    name = f"bench-{nproc}w"
    cmd = [
        sys.executable, "-m", "diffdash", "new", "--headless", "--name", name, "--runs-dir", str(root),
        "--epochs", str(args.epochs), "--train-limit", str(args.limit), "--val-limit", "1280",
        "--data-dir", str(args.data_dir), "--threads", str(args.threads), "--precision", args.precision,
        "--sample-every", "1000", "--nproc", str(nproc), "--device", "cpu", "--progress-every", "600",
    ]  # fmt: skip
    started = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    wall = time.monotonic() - started
    events = [json.loads(line) for line in (root / name / "metrics.jsonl").read_text().splitlines()]
    return [e for e in events if e["event"] == "epoch"][-1]["images_per_s"], wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--limit", type=int, default=12800, help="training digits per epoch")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads in all, split between workers")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--data-dir", type=Path, default=SHARED_MNIST)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        base, base_wall = one(1, args, Path(tmp))
        many, many_wall = one(args.nproc, args, Path(tmp))
    per = max(1, args.threads // args.nproc)
    print(f"CPU, {args.precision}, {args.limit} digits/epoch, batch 128, {args.epochs} epoch(s)")
    print(f"1 worker  × {args.threads} threads: {base:8.1f} images/s  (command {base_wall:.1f} s)")
    print(f"{args.nproc} workers × {per} threads: {many:8.1f} images/s  (command {many_wall:.1f} s)")
    print(f"ratio {args.nproc} workers / 1: {many / base:.2f}")


if __name__ == "__main__":
    main()
