"""The events of metrics.jsonl: one typed definition per kind, the check every reader applies, and the
resume rule.

Each line of metrics.jsonl is one JSON object whose "event" names its kind. Training stamps every event
with where it happened (`Placed`: epoch, step, images, time); the kinds below add their own fields.
Older run folders and hand-written lines may leave fields out, so readers use `.get`; what a reader may
rely on is that a field present has the declared type (`well_formed`). Kinds not listed here are kept
(a newer writer may add some) and only their placement fields are checked.

No torch and no UI here: listing runs must stay instant, and every view reads events through this.
"""

from __future__ import annotations

import types
from typing import Any, Literal, TypedDict, Union, get_args, get_origin, get_type_hints


class Placed(TypedDict, total=False):
    """Where in training an event happened; the engine writes all four on every event."""

    epoch: int  # the epoch under way, or just ended (1-based)
    step: int  # optimiser steps taken so far
    images: int  # training images seen so far
    time: float  # the run's clock, summed across resumes (pauses excluded; validation and previews in: time_spent)


class StartEvent(Placed, total=False):
    """A fresh run began training: the first line of metrics.jsonl."""

    event: Literal["start"]
    epochs: int
    steps_per_epoch: int
    n_train: int
    n_val: int
    parameters: int
    device: str
    data_notice: str  # only when full MNIST was asked for and the bundled subset was used
    level_notice: str  # only when the config's levels were adjusted


class ResumedEvent(StartEvent, total=False):
    """Training went on from the checkpoint at `step`: every line before this one logged after `step`
    (except start and resumed lines) is undone (see `survives_resume`)."""

    event: Literal["resumed"]  # type: ignore[misc]


class StepEvent(Placed, total=False):
    """One optimiser step; `step`, `images` and `time` are the figures after it."""

    event: Literal["step"]
    loss: float  # the training loss of this step's batch
    lr: float  # the learning rate the step used (left out by runs recorded before it was logged)
    grad_norm: float  # total L2 norm of the gradients before the optimiser step (after the workers' all-reduce)


class EpochEvent(Placed, total=False):
    """An epoch ended and was validated."""

    event: Literal["epoch"]
    train_loss: float  # mean training loss over the epoch's steps
    val_loss: float  # loss on the validation split with fixed noise draws, so epochs compare
    seconds: float  # training seconds of this epoch
    images_per_s: float  # training images per second over the epoch
    val_seconds: float  # seconds validation took


class SampleEvent(Placed, total=False):
    """A preview grid was written (samples/epoch_0003.png, or epoch_0003_step_000812.png mid-epoch)."""

    event: Literal["sample"]
    path: str | None  # relative to the run folder; None when nothing was written
    sampler: str
    sample_steps: int
    weights: str  # "ema" or "raw"
    seconds: float
    guidance: float  # class-conditional runs: the grid is one row per digit, drawn at this guidance scale


class CheckpointEvent(Placed, total=False):
    """checkpoints/last.pt now holds this position: a resume goes on from here."""

    event: Literal["checkpoint"]
    path: str


class EvalEvent(Placed, total=False):
    """Sample quality, from --eval-every during training or from `diffdash eval` (which adds the last five
    fields); placed at the checkpoint whose weights were scored."""

    event: Literal["eval"]
    fid: float  # FID in the MNIST classifier's feature space, not Inception FID
    fid_kind: str
    histogram: list[int]  # generated digits per class 0..9
    confidence: float  # mean top-class probability
    n: int  # samples scored
    sampler: str
    steps: int  # network evaluations per sample
    weights: str
    seconds: float
    seed: int | None
    fid_real: float  # same-n FID of real training digits: the floor at this n
    dataset: str | None
    checkpoint: str
    recon: dict[str, dict[str, float]]  # cold diffusion: {row: {"rmse": .., "ssim": ..}}
    guidance: float  # class-conditional runs: the classifier-free guidance scale sampled with
    accuracy: float  # class-conditional runs: share of samples the classifier names as the digit asked for
    per_digit: list[dict[str, float]]  # class-conditional runs: {"digit", "n", "accuracy", "fid", "confidence"}


class FinishedEvent(Placed, total=False):
    event: Literal["finished"]


class StoppedEvent(Placed, total=False):
    """Stopped by the user after a checkpoint: `diffdash resume` goes on."""

    event: Literal["stopped"]
    error: str | None
    reason: str  # "max-time": the run's --max-time of training was spent (absent: a user's stop)


class FailedEvent(Placed, total=False):
    event: Literal["failed"]
    error: str  # one line: the exception, or "disk full while writing ..."


class ProgressEvent(Placed, total=False):
    """A phase that is not training steps (loading, validating, sampling): handed to in-process listeners
    only, never written to metrics.jsonl (status.json carries the phase for other processes)."""

    event: Literal["progress"]
    phase: str
    done: int | None
    total: int | None


class SystemEvent(Placed, total=False):
    """The training process's resources, sampled every few seconds (a history, not only the latest reading).
    With several workers: the node's launcher and its workers together (`processes`)."""

    event: Literal["system"]
    cpu_percent: float  # CPU time over wall time since the previous sample; 100 = one core
    rss_bytes: int  # resident memory
    cpus: int  # cores of the machine
    processes: int  # processes summed, with several workers
    gpu_mem_bytes: int  # CUDA memory this process holds (reserved by PyTorch's allocator), on CUDA only
    gpu_total_bytes: int


Event = (
    StartEvent | ResumedEvent | StepEvent | EpochEvent | SampleEvent | CheckpointEvent | EvalEvent
    | FinishedEvent | StoppedEvent | FailedEvent | ProgressEvent | SystemEvent
)  # fmt: skip
KINDS: dict[str, type] = {get_args(get_type_hints(t)["event"])[0]: t for t in get_args(Event)}
END_KINDS = ("finished", "stopped", "failed")
KEPT_ON_RESUME = ("start", "resumed")  # lines a resume never undoes
_FIELDS = {kind: {k: v for k, v in get_type_hints(t).items() if k != "event"} for kind, t in KINDS.items()}
_PLACED = get_type_hints(Placed)


def well_formed(event: Any) -> bool:
    """An event every reader can use: an object naming its kind, each field present of its declared type.

    A line that parses but fails this (`[1, 2]`, `"step": "x"`) is skipped like a cut-off one.
    """
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return False
    fields = _FIELDS.get(event["event"], _PLACED)
    return all(_fits(event[k], t) for k, t in fields.items() if k in event)


def _fits(value: Any, t: Any) -> bool:
    origin = get_origin(t)
    if t is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if t is type(None):
        return value is None
    if origin in (Union, types.UnionType):
        return any(_fits(value, a) for a in get_args(t))
    if origin is list:
        return isinstance(value, list) and all(_fits(v, get_args(t)[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    return isinstance(value, t)


def step_of(event: dict[str, Any]) -> int:
    step = event.get("step", 0)
    return step if isinstance(step, int) else 0


def survives_resume(event: dict[str, Any], resumed_step: int) -> bool:
    """The undo rule: a `resumed` marker at step S undoes what was logged before it after step S (the
    steps a crash or stop lost since the checkpoint), except start and resumed lines.

    Every reader applies it through this: `drop_undone`, the `History` reducer, and the compaction a
    resume does to metrics.jsonl.
    """
    return event.get("event") in KEPT_ON_RESUME or step_of(event) <= resumed_step


def drop_undone(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events with every `resumed` marker applied to the lines before it."""
    out: list[dict[str, Any]] = []
    for e in events:
        if e.get("event") == "resumed":
            out = [x for x in out if survives_resume(x, step_of(e))]
        out.append(e)
    return out
