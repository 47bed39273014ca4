"""How a run is started, not what it is: `new`/`resume`'s --nproc, --max-restarts, --tensorboard and
--progress-every, declared once like the run options (option.py) but not fields of `RunConfig`.

`diffdash new`'s flags (commands/train_workers.py, tensorboard_option.py, train_commands.py) and study files
(study/member_options.py) both read them from here. Torch- and Click-free.
"""

from __future__ import annotations

import math
from typing import Any

from diffdash.options.option import Option

MIN_PROGRESS_EVERY = 0.1


def _progress_every(value: Any) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return f"must be a finite number of seconds, got {value}"
    if value < MIN_PROGRESS_EVERY:
        return f"{value} is not in the range x>={MIN_PROGRESS_EVERY}."
    return None


def _folder(value: Any) -> str | None:
    if isinstance(value, str) and not value.strip():
        return "is empty: give a folder such as tb/"
    return None


LAUNCH: tuple[Option, ...] = (
    Option(
        "nproc", "int", 1,
        "Worker processes (torchrun, DistributedDataParallel: gloo on CPU, nccl with one GPU each); "
        "--batch-size stays the global batch.",
        bounds=(1, 1024),
    ),
    Option(
        "max_restarts", "int", 0,
        "--nproc: restart the workers from the last checkpoint this many times when one dies.",
        bounds=(0, None),
    ),
    Option(
        "tensorboard", "str | None", None,
        "Also write TensorBoard event files to DIR/<run id> (view: tensorboard --logdir DIR).",
        check=_folder,
    ),
    Option(
        "progress_every", "float", 30.0, "--headless: a progress line at least this often.", check=_progress_every
    ),
)  # fmt: skip
LAUNCH_BY_NAME: dict[str, Option] = {o.name: o for o in LAUNCH}
