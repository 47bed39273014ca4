"""Training throughput inside the dashboard vs headless, one after the other in one process.

    .venv/bin/python benchmarks/bench_dashboard.py [--epochs 3] [--train-limit 4096] [--repeats 2]

Runs the same small config headless (the `--headless` path: engine + progress printer) and in the
real dashboard (TrainApp under Textual's headless driver, half-cell images), alternating, and prints
the training images/s of each (from the engine's epoch events: steps only, no validation or
sampling) and the ratio dashboard/headless (target >= 0.97). The same engine run in a plain thread
without UI is a third baseline: the dashboard's engine runs in a thread, and on a loaded CPU torch
in a worker thread can be much faster than in the main thread, so dashboard/thread isolates the UI's
own cost. Also prints the UI thread's CPU share and the dashboard process's RSS
after the first epoch and at the end, and how many step points the dashboard keeps (bounded).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console

from diffdash.mnist.load import load_mnist
from diffdash.options.run_config import RunConfig
from diffdash.runs.headless import HeadlessPrinter
from diffdash.store import RunDir
from diffdash.training import Engine


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def train_rate(run: RunDir) -> float:
    """Images per second of training steps, over all epochs (the engine's own epoch timings)."""
    epochs = [e for e in run.read_events()[0] if e["event"] == "epoch"]
    images = sum(e["images_per_s"] * e["seconds"] for e in epochs)
    return images / sum(e["seconds"] for e in epochs)


def headless(root: Path, name: str, config: RunConfig, data, in_thread: bool = False) -> float:
    """The --headless path; `in_thread` runs the same in a plain thread (the dashboard's engine runs in one)."""
    run = RunDir.create(root, name)
    printer = HeadlessPrinter(Console(file=io.StringIO(), force_terminal=True))
    engine = Engine(run, config, listeners=[printer], data=data)
    if in_thread:
        worker = threading.Thread(target=engine.run)
        worker.start()
        worker.join()
    else:
        engine.run()
    printer.close()
    return train_rate(run)


def dashboard(root: Path, name: str, config: RunConfig, data) -> tuple[float, list[float], int, float]:
    """Returns images/s, RSS samples (MB), step points kept, and the UI thread's CPU share of the wall time."""
    from textual_image.widget import HalfcellImage

    from diffdash.ui.train_app import TrainApp

    run = RunDir.create(root, name)
    app = TrainApp(run, config, data=data, image_mode="halfcell", image_cls=HalfcellImage)
    rss: list[float] = []
    ui_cpu: list[float] = []

    async def drive() -> None:
        cpu0, wall0 = time.thread_time(), time.monotonic()
        async with app.run_test(size=(120, 36)) as pilot:
            while app.final_state is None:
                if not rss and app.view.epochs:
                    rss.append(rss_mb())
                await pilot.pause(0.2)
            rss.append(rss_mb())
        ui_cpu.append((time.thread_time() - cpu0) / (time.monotonic() - wall0))

    asyncio.run(drive())
    return train_rate(run), rss, len(app.view.steps), ui_cpu[0]


def soak(root: Path, steps: int, data) -> None:
    """Memory over a long run: a writer thread appends `steps` step events (and an epoch, a grid and an
    eval every 500 steps) to a run folder while the dashboard follows it; RSS is printed as it goes."""
    import math

    from textual_image.widget import HalfcellImage

    from diffdash.mnist.grids import save_grid
    from diffdash.mnist.load import to_tensor
    from diffdash.ui.dashboard import DashboardApp

    run = RunDir.create(root, "soak")
    per_epoch = 500
    run.write_config({"model": "ddpm", "n_hidden": [16, 32, 32, 16], "parameters": 1, "resolved_device": "cpu"})
    run.append_events(
        [
            {
                "event": "start",
                "epoch": 1,
                "step": 0,
                "images": 0,
                "time": 0.0,
                "n_train": 64000,
                "epochs": steps // per_epoch,
                "steps_per_epoch": per_epoch,
                "parameters": 1,
                "device": "cpu",
            }
        ]
    )
    run.write_status({"state": "running", "host": "elsewhere", "heartbeat": time.time() + 1e6})
    done = threading.Event()

    def writer() -> None:
        chunk = []
        for i in range(1, steps + 1):
            base = {"epoch": 1 + (i - 1) // per_epoch, "step": i, "images": 128 * i, "time": i * 0.01}
            chunk.append({"event": "step", **base, "loss": 0.05 + math.exp(-i / 5000) + 0.01 * math.sin(i)})
            if i % per_epoch == 0:
                epoch = i // per_epoch
                save_grid(
                    to_tensor(data.test_images[(epoch % 60) * 16 : (epoch % 60 + 1) * 16], "cpu"),
                    run.sample_path(epoch),
                    nrow=4,
                )
                chunk += [
                    {"event": "epoch", **base, "train_loss": 0.1, "val_loss": 0.1, "images_per_s": 1.0, "seconds": 1.0},
                    {"event": "sample", **base, "path": f"samples/epoch_{epoch:04d}.png"},
                    {"event": "eval", **base, "fid": 10.0, "histogram": [1] * 10},
                ]
            if len(chunk) >= 200:
                run.append_events(chunk)
                chunk = []
                time.sleep(0.01)
        run.append_events(chunk)
        done.set()

    app = DashboardApp(run, image_mode="halfcell", image_cls=HalfcellImage, poll_s=0.05)

    async def drive() -> None:
        async with app.run_test(size=(120, 36)) as pilot:
            threading.Thread(target=writer, daemon=True).start()
            marks = [steps // 10, steps // 2, steps]
            while marks:
                await pilot.pause(0.1)
                if app.view.last.get("step", 0) >= marks[0]:
                    print(
                        f"soak: step {marks.pop(0):>8,}  RSS {rss_mb():7.1f} MB  points kept {len(app.view.steps)}"
                        f"  grids on disk {len(run.samples())}  redraws {app.redraws}"
                    )

    asyncio.run(drive())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--train-limit", type=int, default=4096)
    p.add_argument("--n-hidden", default="16,32,32,16")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--soak", type=int, default=0, help="Only the memory soak: follow a run of this many steps.")
    args = p.parse_args()
    config = RunConfig(
        n_hidden=[int(v) for v in args.n_hidden.split(",")],
        epochs=args.epochs,
        batch_size=args.batch_size,
        dataset="mnist-small",
        train_limit=args.train_limit,
        val_limit=256,
        device="cpu",
        sample_steps=10,
    ).validate()
    data = load_mnist("mnist-small", None)
    if args.soak:
        with tempfile.TemporaryDirectory() as tmp:
            soak(Path(tmp), args.soak, data)
        return 0
    rates: dict[str, list[float]] = {"headless": [], "thread": [], "dashboard": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i in range(args.repeats):
            t0 = time.monotonic()
            rates["headless"].append(headless(root, f"h{i}", config, data))
            print(f"run {i + 1} headless: {rates['headless'][-1]:8.1f} img/s  ({time.monotonic() - t0:.1f} s)")
            t0 = time.monotonic()
            rates["thread"].append(headless(root, f"t{i}", config, data, in_thread=True))
            print(f"run {i + 1} in a thread: {rates['thread'][-1]:8.1f} img/s  ({time.monotonic() - t0:.1f} s)")
            t0 = time.monotonic()
            rate, rss, points, ui_share = dashboard(root, f"d{i}", config, data)
            rates["dashboard"].append(rate)
            print(
                f"run {i + 1} dashboard: {rate:8.1f} img/s  ({time.monotonic() - t0:.1f} s)  "
                f"UI thread CPU {ui_share:.1%} of a core, RSS {rss[0]:.0f} MB after epoch 1 -> {rss[-1]:.0f} MB"
                f" at the end, {points} step points kept"
            )
    h, t, d = (statistics.median(rates[k]) for k in ("headless", "thread", "dashboard"))
    print(f"median img/s: headless {h:.1f}, headless in a thread {t:.1f}, dashboard {d:.1f}")
    print(f"ratio dashboard/headless {d / h:.3f} (target >= 0.97)")
    print(f"ratio dashboard/headless-in-a-thread {d / t:.3f} (the UI's own cost, same threading)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
