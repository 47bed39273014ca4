"""A recorded run folder built deterministically (fixed events, grids of real bundled digits).

Used by the snapshot and watch tests: nothing in it depends on the clock or the terminal.
"""

from __future__ import annotations

import math
from pathlib import Path

from diffdash.store import RunDir

STEPS_PER_EPOCH = 40
EPOCHS = 4


def record_run(root: Path, run_id: str = "20261128-120000-ddpm-abcd", epochs_done: int = 3) -> RunDir:
    from diffdash.mnist.grids import save_grid
    from diffdash.mnist.load import load_bundled, to_tensor

    run = RunDir.create(root, run_id)
    run.write_config(
        {
            "model": "ddpm",
            "n_hidden": [16, 32, 32, 16],
            "precision": "fp32",
            "device": "auto",
            "dataset": "mnist-small",
            "train_limit": 5120,
            "parameters": 103601,
            "data": {"name": "mnist-small", "n_train": 10000, "n_test": 1000},
            "resolved_device": "cpu",
            "n_train": 5120,
            "n_val": 1000,
            "steps_per_epoch": STEPS_PER_EPOCH,
            "epochs": EPOCHS,
        }
    )
    events = [
        {
            "event": "start",
            "epoch": 1,
            "step": 0,
            "images": 0,
            "time": 0.0,
            "epochs": EPOCHS,
            "steps_per_epoch": STEPS_PER_EPOCH,
            "n_train": 5120,
            "parameters": 103601,
            "device": "cpu",
        },
    ]
    step = 0
    digits = load_bundled().test_images
    for epoch in range(1, epochs_done + 1):
        for _ in range(STEPS_PER_EPOCH):
            step += 1
            loss = 0.04 + 0.9 * math.exp(-step / 25) + 0.01 * math.sin(step * 1.7)
            events.append(
                {
                    "event": "step",
                    "epoch": epoch,
                    "step": step,
                    "images": step * 128,
                    "time": round(step * 0.05, 3),
                    "loss": round(loss, 6),
                }
            )
        t = round(step * 0.05, 3)
        base = {"epoch": epoch, "step": step, "images": step * 128, "time": t}
        val = 0.04 + 0.8 * math.exp(-step / 30)
        events.append(
            {
                "event": "epoch",
                **base,
                "train_loss": val * 1.05,
                "val_loss": val,
                "seconds": 2.0,
                "images_per_s": 2560.0,
            }
        )
        grid = to_tensor(digits[(epoch - 1) * 16 : epoch * 16], "cpu")
        save_grid(grid, run.sample_path(epoch), nrow=4)
        (run.samples_dir / "reconstruct").mkdir(exist_ok=True)
        save_grid(-grid, run.sample_path(epoch, variant="reconstruct"), nrow=4)
        events.append(
            {"event": "sample", **base, "path": f"samples/epoch_{epoch:04d}.png", "sampler": "ddim", "sample_steps": 20}
        )
        events.append(
            {
                "event": "eval",
                **base,
                "fid": 40.0 / epoch,
                "fid_kind": "mnist-classifier",
                "histogram": [10 + ((epoch * 7 + d * 13) % 17) for d in range(10)],
                "confidence": 0.9,
                "n": 256,
                "sampler": "ddim",
                "steps": 20,
                "weights": "raw",
            }
        )
        events.append({"event": "checkpoint", **base, "path": "checkpoints/last.pt"})
    run.append_events(events)
    finished = epochs_done >= EPOCHS
    run.write_status(
        {
            "state": "finished" if finished else "stopped",
            "epochs": EPOCHS,
            "epoch": epochs_done,
            "step": step,
            "steps_per_epoch": STEPS_PER_EPOCH,
            "ended": 1.0,
        }
    )
    return run
