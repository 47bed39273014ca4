"""What every cluster executor shares: its error, a scheduler's view of one job, the extra's import check, and
how that view and a run folder's state combine into the one state `study status` and the board show."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


class ExecutorError(RuntimeError):
    """The executor cannot place the study as asked (the CLI exits 2 with this one line)."""


@dataclass
class JobView:
    """A job as its scheduler sees it: Slurm's state in lower case (pending, running, cancelled, ...) or, for
    Ray, running / finished / failed; `live` while the scheduler still holds it (queued or running)."""

    state: str
    reason: str = ""
    node: str = ""
    live: bool = True


def require(module: str, install: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        raise ExecutorError(f"this executor needs {module}, which is not installed: {install}") from None


FAILED = {"failed", "timeout", "node_fail", "out_of_memory", "boot_fail", "deadline", "preempted"}


def joined_state(folder_state: str, view: JobView | None) -> tuple[str, str]:
    """(state, scheduler note) for a member: the run folder's state unless the scheduler knows better.

    pending (queued, no folder yet) / requeued (queued again after training) / cancelled / failed; the note is
    the scheduler's reason (`Priority`, `BeginTime`, `NonZeroExitCode`) or its state when it differs."""
    if view is None:
        return folder_state, ""
    trained = folder_state not in ("pending",)
    note = view.reason
    if folder_state == "finished":  # a job still queued for a finished run has nothing left to do
        return folder_state, ""
    if view.live:
        if view.state in ("pending", "requeued", "requeue_hold", "requeue_fed"):
            return ("requeued" if trained else "pending"), note or view.state
        if view.state == "completing":  # the job is ending (cancelled, requeued): its run has already stopped
            return folder_state, note or view.state
        if view.state in ("running", "configuring") and folder_state in ("pending", "stopped", "crashed"):
            return "starting", note
        return folder_state, note
    if view.state == "cancelled":
        return "cancelled", note
    if view.state in FAILED:
        return "failed", " ".join(x for x in (view.state.upper(), note) if x)
    return folder_state, note
