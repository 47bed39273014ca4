"""The starter notebook's loop against diffdash on a GPU: fp32 and bf16, --compile off and on, one GPU and all.

Every diffdash row is `diffdash new --epochs 1 --headless` in its own process (`--nproc N` for the all-GPU
rows: torchrun, DistributedDataParallel over NCCL), so compile caches, threads and CUDA state never leak
from one row into the next; its figures are read back from the run folder: training seconds and images/s
(the epoch event), validation seconds, the end-of-epoch 16-sample DDIM-50 grid (the preview), and the
compile seconds (config.json), which are reported apart and not counted in the epoch. The starter row is
bench_engine.py's loop (its CNN, DDPM, DataLoader with per-sample transforms, `loss.item()` every step,
test loss, 1000-step ancestral grid under no_grad), run on the device.

    python benchmarks/bench_gpu.py                                   # CUDA, full MNIST, every row (minutes)
    python benchmarks/bench_gpu.py --device cpu --limit 1280 --val-limit 256 --precisions fp32 --nproc 1
                                                                     # a smoke run on a CPU: NOT for reporting
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

import torch
from bench_engine import IDX, SHARED_MNIST, run_starter, starter_folder

STARTER_HIDDEN = (16, 32, 32, 16)


def run_diffdash(args, out: Path, precision: str, compiled: bool, nproc: int) -> dict:
    """One `diffdash new --epochs 1` in a child process; its figures from the run folder it wrote."""
    name = f"{precision}-{'compiled' if compiled else 'eager'}-x{nproc}"
    cmd = [
        sys.executable, "-m", "diffdash", "new", "--epochs", "1", "--headless", "--name", name,
        "--runs-dir", str(out), "--device", args.device, "--precision", precision, "--nproc", str(nproc),
        "--sample-every", "1", "--progress-every", "600",
        *(["--compile"] if compiled else []),
        *(["--data-dir", str(args.data_dir)] if args.data_dir else []),
        *(["--train-limit", str(args.limit)] if args.limit else []),
        *(["--val-limit", str(args.val_limit)] if args.val_limit else []),
        *(["--threads", str(args.threads)] if args.threads else []),
    ]  # fmt: skip
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    run = out / name
    if done.returncode != 0 or not (run / "metrics.jsonl").is_file():
        raise SystemExit(f"{name} failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    epoch = next(e for e in events if e["event"] == "epoch")
    grids = [e["seconds"] for e in events if e["event"] == "sample"]
    config = json.loads((run / "config.json").read_text())
    compile_result = config.get("compile_result") or {}
    if compiled and not compile_result.get("used"):
        raise SystemExit(f"{name}: --compile fell back to eager ({compile_result.get('error')})")
    train = epoch["seconds"]
    return {
        "train": train,
        "val": epoch["val_seconds"],
        "grid": sum(grids),
        "total": train + epoch["val_seconds"] + sum(grids),
        "images": config["n_train"],
        "compile": compile_result.get("seconds"),
        "wall": wall,
        "notes": f"{config['resolved_precision']}, {config.get('world_size', 1)} process(es), "
        f"{config['resolved_threads']} threads, {len(grids)} DDIM-50 grid(s)",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu (a smoke run)")
    ap.add_argument("--data-dir", type=Path, default=None, help=f"official idx files (default {SHARED_MNIST})")
    ap.add_argument("--limit", type=int, default=None, help="only the first N training digits (a quick look)")
    ap.add_argument("--val-limit", type=int, default=None, help="only the first N test digits (a quick look)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads per process (default: all cores)")
    ap.add_argument("--precisions", default="fp32,bf16", help="diffdash rows' precisions")
    ap.add_argument("--compile-modes", default="off,on", help="diffdash rows: --compile off, on or both")
    ap.add_argument("--nproc", default=None, help="process counts, e.g. 1,8 (default: 1 and every GPU)")
    ap.add_argument("--workers", type=int, default=2, help="starter DataLoader workers")
    ap.add_argument("--skip-starter", action="store_true", help="diffdash rows only (no ratios)")
    args = ap.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here: use --device cpu for a smoke run")
    args.data_dir = args.data_dir or (SHARED_MNIST if (SHARED_MNIST / f"{IDX[0]}.gz").is_file() else None)
    if args.data_dir is None:
        raise SystemExit("full MNIST not found: pass --data-dir (the official idx files)")
    gpus = torch.cuda.device_count() if args.device.startswith("cuda") else 1
    nprocs = [int(v) for v in args.nproc.split(",")] if args.nproc else sorted({1, gpus})
    if args.threads:
        torch.set_num_threads(args.threads)
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(f"{where} × {gpus}; torch {torch.__version__}; data {args.data_dir}; load {os.getloadavg()[0]:.2f}")
    if args.limit or args.val_limit:
        print("quick look (--limit/--val-limit): not a full epoch; do not report these figures")
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_starter:
            root = starter_folder(args.data_dir, tmp / "starter-data")
            starter = run_starter(root, STARTER_HIDDEN, args.limit, args.val_limit, args.workers, tmp, args.device)
            rows["starter notebook loop"] = {**starter, "compile": None, "notes": "fp32, 1000-step ancestral grid"}
        for nproc in nprocs:
            for precision in args.precisions.split(","):
                for mode in args.compile_modes.split(","):
                    label = f"diffdash {precision} {'compile' if mode == 'on' else 'eager'} ×{nproc}"
                    rows[label] = run_diffdash(args, tmp / "runs", precision, mode == "on", nproc)
                    print(f"  done: {label}", flush=True)
    base = rows.get("starter notebook loop")
    print(f"\n{'':30} {'train':>8} {'img/s':>7} {'valid.':>7} {'grid':>7} {'epoch':>8} {'ratio':>6} {'compile':>8}")
    for name, r in rows.items():
        ratio = f"{base['total'] / r['total']:6.2f}" if base else "     -"
        comp = f"{r['compile']:7.1f}s" if r.get("compile") else "       -"
        print(
            f"{name:30} {r['train']:7.1f}s {r['images'] / r['train']:7.0f} {r['val']:6.1f}s {r['grid']:6.1f}s "
            f"{r['total']:7.1f}s {ratio} {comp}  {r['notes']}"
        )
    print("epoch = train + validation + end-of-epoch grid; ratio = starter epoch / this row's; compile not in epoch")


if __name__ == "__main__":
    main()
