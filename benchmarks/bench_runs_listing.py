"""How long `diffdash runs` takes over 200 run folders (listing must feel instant: under 1 s).

Creates 200 realistic folders (config.json, status.json, metrics.jsonl, sample PNGs; every 20th run has a
full-length 100-epoch metrics file of ~47,000 step events, a few are damaged), then times
  - summarize_all() in this process (what the command does),
  - the whole `diffdash runs` command in a fresh process (Python start-up included),
  - a naive listing that parses every metrics.jsonl, for the ratio.
Run: .venv/bin/python benchmarks/bench_runs_listing.py [--runs 200]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from diffdash.mnist.grids import save_grid

STATES = ("finished", "finished", "finished", "stopped", "failed", "crashed")


def make_run(root: Path, i: int, long: bool, grid: Path) -> None:
    run = root / f"20261128-{100000 + i:06d}-ddpm-{i:04x}"
    (run / "samples").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    epochs = 100 if long else 5
    spe = 469 if long else 20
    config = {
        "model": "ddpm",
        "n_hidden": [16, 32, 32, 16],
        "epochs": epochs,
        "batch_size": 128,
        "name": None,
        "parameters": 330209,
        "steps_per_epoch": spe,
        "dataset": "mnist",
    }
    (run / "config.json").write_text(json.dumps(config, indent=2))
    lines = [
        json.dumps(
            {
                "event": "start",
                "epoch": 0,
                "step": 0,
                "images": 0,
                "time": 0.0,
                "epochs": epochs,
                "steps_per_epoch": spe,
            }
        )
    ]
    step = 0
    for epoch in range(1, epochs + 1):
        for _ in range(spe):
            step += 1
            lines.append(
                json.dumps(
                    {
                        "event": "step",
                        "epoch": epoch,
                        "step": step,
                        "images": step * 128,
                        "time": step * 0.01,
                        "loss": 0.05 + 1 / step,
                    }
                )
            )
        lines.append(
            json.dumps(
                {
                    "event": "epoch",
                    "epoch": epoch,
                    "step": step,
                    "images": step * 128,
                    "time": step * 0.01,
                    "train_loss": 0.05,
                    "val_loss": 0.05,
                    "seconds": 4.7,
                    "images_per_s": 12000.0,
                }
            )
        )
        if epoch % 20 == 0 or epoch == epochs:
            os.link(grid, run / "samples" / f"epoch_{epoch:04d}.png")
    text = "\n".join(lines) + "\n"
    if i % 50 == 7:
        text = text[:-30]  # a truncated last line: listed as damaged
    (run / "metrics.jsonl").write_text(text)
    status = {
        "state": STATES[i % len(STATES)],
        "pid": 999999,
        "host": "elsewhere",
        "started": 1.7e9 + i * 60,
        "heartbeat": 1.7e9 + i * 60 + 500,
        "epochs": epochs,
        "epoch": epochs,
        "step": step,
        "images": step * 128,
        "time": step * 0.01,
        "best_val": 0.05,
        "best_epoch": epochs,
        "last_val": 0.05,
    }
    if i % 50 == 13:
        (run / "status.json").write_text('{"state": "fini')  # invalid JSON: damaged, figures from metrics
    else:
        (run / "status.json").write_text(json.dumps(status))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        root.mkdir()
        grid = save_grid(np.zeros((16, 1, 28, 28)), Path(tmp) / "grid.png")
        t0 = time.perf_counter()
        for i in range(args.runs):
            make_run(root, i, long=i % 20 == 0, grid=grid)
        size = sum(p.stat().st_size for p in root.rglob("metrics.jsonl")) / 1e6
        print(f"made {args.runs} runs ({size:.0f} MB of metrics.jsonl) in {time.perf_counter() - t0:.1f} s")

        from diffdash.runs.history import read_history
        from diffdash.runs.summary import summarize_all
        from diffdash.store import list_run_dirs

        t0, c0 = time.perf_counter(), time.process_time()
        rows = summarize_all(root)
        fast, fast_cpu = time.perf_counter() - t0, time.process_time() - c0
        damaged = sum(r.damaged is not None for r in rows)
        print(
            f"summarize_all: {len(rows)} rows ({damaged} damaged) in {fast * 1000:.0f} ms wall, "
            f"{fast_cpu * 1000:.0f} ms CPU"
        )

        env = {**os.environ, "DIFFDASH_RUNS": str(root)}
        cmd = [str(Path(sys.executable).parent / "diffdash"), "runs"]
        walls, cpus = [], []
        for _ in range(3):  # best of 3: the machine is shared, wall time is noisy
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            walls.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        whole = min(walls)
        print(
            f"`diffdash runs` (fresh process, {len(out.stdout.splitlines())} lines): best wall {whole * 1000:.0f} ms, "
            f"CPU {min(cpus) * 1000:.0f} ms ({'under' if whole < 1 else 'OVER'} the 1 s goal in wall time)"
        )
        load, cores = os.getloadavg()[0], os.cpu_count()
        print(f"machine load {load:.1f} on {cores} cores: wall times include waiting for a core when load > cores")
        probe = (
            "import sys, diffdash.commands.runs_commands as m; m.runs_command.main(['--json'], standalone_mode=False);"
        )
        probe += "print([n for n in ('torch', 'textual') if n in sys.modules], file=sys.stderr)"
        mods = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
        print(f"heavy modules imported by the listing: {mods.stderr.strip()}")

        t0 = time.perf_counter()
        for run in list_run_dirs(root):
            read_history(run)
        naive = time.perf_counter() - t0
        print(
            f"naive listing parsing every metrics.jsonl: {naive * 1000:.0f} ms; ratio naive/fast = {naive / fast:.0f}x"
        )


if __name__ == "__main__":
    main()
