"""Where a study's members train: `local` (StudyRunner: processes on this machine), `slurm` (a job per member,
through submitit) or `ray` (a task per member, through Ray's API). An executor only places members; each
trains through diffdash's headless `new`/`resume` into its ordinary run folder, so `runs`, `watch`, `compare`,
`study status` and `study report` work the same whichever placed it. No torch, submitit or ray at import.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from diffdash.study.executors.base import ExecutorError, joined_state
from diffdash.study.executors.records import read_record, where_text
from diffdash.study.spec import Member, Study

EXECUTORS = ("local", "slurm", "ray")

__all__ = ["EXECUTORS", "ExecutorError", "cluster_runner", "executor_for", "join_rows", "cancel"]


def executor_for(
    kind: str, study: Study, root: Path, slurm: dict[str, Any] | None = None, ray_address: str | None = None
):
    """The executor for `slurm` or `ray`, checked (extra installed, cluster reachable) before any folder is made."""
    if kind == "slurm":
        from diffdash.study.executors.slurm import SlurmExecutor

        table = {**study_table(study, "slurm"), **(slurm or {})}
        executor: Any = SlurmExecutor(study, Path(root), table)
    elif kind == "ray":
        from diffdash.study.executors.ray import RayExecutor

        table = study_table(study, "ray")
        executor = RayExecutor(study, Path(root), table, ray_address or table.get("address") or "auto")
    else:
        raise ExecutorError(f"unknown executor {kind!r}: choose {', '.join(EXECUTORS)}")
    executor.check()
    return executor


def study_table(study: Study, kind: str) -> dict[str, Any]:
    tables = getattr(study, "cluster", None) or {}
    return dict(tables.get(kind) or {})


def cluster_runner(executor: Any, study: Study, root: Path, members: list[Member], *, restart_changed: bool,
                   say: Callable[[str], None]):  # fmt: skip
    from diffdash.study.executors.cluster import ClusterRunner

    return ClusterRunner(study, root, members, executor, restart_changed=restart_changed, say=say)


def join_rows(rows: list[Any], study: Study, root: Path) -> None:
    """Give each status row where its member runs and the state its scheduler knows (pending, requeued,
    cancelled, failed with Slurm's reason). Slurm is asked once for all jobs; Ray's tasks are shown by node."""
    members = {m.name: m for m in study.members}
    records = {
        r.member: rec for r in rows if r.member in members and (rec := read_record(root, study, members[r.member]))
    }
    slurm = {name: rec for name, rec in records.items() if rec.get("executor") == "slurm"}
    views: dict[str, Any] = {}
    if slurm:
        from diffdash.study.executors.slurm import scheduler_view

        seen = scheduler_view({str(rec.get("job_id")) for rec in slurm.values()})
        views = {name: seen.get(str(rec.get("job_id"))) for name, rec in slurm.items()}
    for r in rows:
        rec = records.get(r.member)
        if rec is None:
            continue
        view = views.get(r.member)
        if rec.get("executor") == "slurm" and view is None:
            from diffdash.study.executors.base import JobView

            view = JobView("gone", live=False)
        r.state, note = joined_state(r.state, view)
        if view is not None and view.node and not rec.get("node"):
            rec = {**rec, "node": view.node}
        r.where = where_text(rec, note)


def cancel(study: Study, root: Path, members: list[Member]) -> list[str]:
    """Cancel the members' jobs (scancel) or ask their Ray tasks to stop; lines saying what was done."""
    from diffdash.study.executors.records import cancel_path

    lines = []
    slurm_records = {}
    for m in members:
        rec = read_record(root, study, m)
        if rec is None:
            lines.append(f"{m.name}: not placed by a cluster executor: nothing to cancel")
        elif rec.get("executor") == "slurm":
            slurm_records[m.name] = rec
        else:
            cancel_path(root, study, m).touch()
            lines.append(f"{m.name}: asked its {where_text(rec)} task to checkpoint and stop")
    if slurm_records:
        from diffdash.study.executors.slurm import SlurmExecutor, scheduler_view

        seen = scheduler_view({str(r["job_id"]) for r in slurm_records.values()})
        live = {n: r for n, r in slurm_records.items() if (v := seen.get(str(r["job_id"]))) and v.live}
        for name, rec in slurm_records.items():
            if name not in live:
                lines.append(f"{name}: job {rec['job_id']} is no longer queued or running")
        if live:
            SlurmExecutor(study, root, {}).cancel(live)
            lines += [f"{n}: cancelled job {r['job_id']} (it checkpoints and stops)" for n, r in live.items()]
    return lines
