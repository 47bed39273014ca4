"""`study run --executor slurm`: one Slurm job per member, submitted through submitit, each training its member
with diffdash's headless path (member_job.py). Slurm's view of a job (squeue, else sacct) is joined with the
run folders for `study status` and the board; `study cancel` is scancel.

A job is submitted with `--requeue` and submitit's timeout signal: on a preemption or a time limit the member
checkpoints, submitit requeues the job, and the job resumes from that checkpoint when it starts again (a
`scontrol requeue` or a node failure does the same: Slurm's SIGTERM makes the training checkpoint and stop).
"""

from __future__ import annotations

import contextlib
import getpass
import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffdash.study.executors.base import ExecutorError, JobView, require
from diffdash.study.executors.member_job import MemberTraining
from diffdash.study.executors.records import update_record
from diffdash.study.executors.tables import sbatch_options, time_minutes
from diffdash.study.members import study_dir
from diffdash.study.spec import Member, Study

INSTALL = 'pip install "diffdash[slurm]"'
LIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING",
        "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT"}  # fmt: skip
DEFAULT_MINUTES = 24 * 60
QUERY_TIMEOUT_S = 20


class SlurmMember:
    """What submitit pickles and runs in the job; `checkpoint` is submitit's hook for its timeout signal."""

    def __init__(self, training: MemberTraining):
        self.training = training

    def __call__(self) -> str:
        import os

        job = os.environ.get("SLURM_JOB_ID", "")
        self.training.where = {"slurm job": job}
        t = self.training
        update_record(t.root, t.study, t.member, job_id=job)  # even if it races the submitter's own write
        return self.training.run()

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """Time is nearly up or the job is preempted: the member checkpoints and stops; submitit requeues."""
        import submitit

        self.training.stop()
        return submitit.helpers.DelayedSubmission(SlurmMember(self.training))


@dataclass
class SlurmExecutor:
    study: Study
    root: Path
    table: dict[str, Any]  # the study's [slurm] table with --slurm KEY=VALUE over it
    name: str = "slurm"
    stops_with_driver: bool = False  # the jobs are Slurm's: they train on after `study run` ends

    def check(self) -> None:
        require("submitit", INSTALL)
        if shutil.which("sbatch") is None:
            raise ExecutorError("--executor slurm: sbatch is not on this machine's PATH: run it on a Slurm login node")

    def cpus(self, member: Member) -> int:
        threads = member.params.get("threads") or 1
        nproc = int(member.params.get("nproc") or 1)
        return int(self.table.get("cpus") or max(1, int(threads)) * nproc)

    def submit(self, member: Member) -> dict[str, Any]:
        """Submit the member's job; the launch record's fields (job_id)."""
        import submitit

        folder = study_dir(self.root, self.study) / "slurm"
        executor = submitit.SlurmExecutor(folder=folder, max_num_timeout=3)
        t = self.table
        extra = {"requeue": True, **sbatch_options(t.get("extra", []))}
        params: dict[str, Any] = dict(
            job_name=member.run_id,
            time=time_minutes(t["time"]) if t.get("time") else DEFAULT_MINUTES,
            nodes=1,
            ntasks_per_node=1,
            cpus_per_task=self.cpus(member),
            stderr_to_stdout=True,
            signal_delay_s=90,
            additional_parameters=extra,
        )
        for key in ("partition", "mem", "account", "gpus_per_task"):
            if t.get(key):
                params[key] = t[key]
        executor.update_parameters(**params)
        threads = self.cpus(member) // max(1, int(member.params.get("nproc") or 1))
        training = MemberTraining(self.study, self.root, member, threads, {})
        from submitit.core.utils import FailedJobError

        try:
            with contextlib.redirect_stderr(io.StringIO()):  # submitit prints sbatch's error too: say it once
                job = executor.submit(SlurmMember(training))
        except (FailedJobError, subprocess.CalledProcessError, OSError) as exc:
            lines = [ln for ln in str(exc).splitlines() if ln.strip()]
            raise ExecutorError(f"sbatch refused the job: {lines[-1] if lines else type(exc).__name__}") from None
        return {"job_id": str(job.job_id)}

    def poll(self, records: dict[str, dict[str, Any]]) -> dict[str, JobView]:
        ids = {name: str(r["job_id"]) for name, r in records.items() if r.get("job_id")}
        seen = scheduler_view(set(ids.values()))
        return {name: seen.get(job, JobView("gone", live=False)) for name, job in ids.items()}

    def cancel(self, records: dict[str, dict[str, Any]]) -> list[str]:
        ids = [str(r["job_id"]) for r in records.values() if r.get("job_id")]
        if ids:
            _run(["scancel", *ids])
        return ids

    def leave(self, names: list[str]) -> str:
        return f"left {len(names)} job(s) with Slurm: `diffdash study cancel {self.study.path}` stops them"

    def close(self) -> None:
        pass


def _run(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=QUERY_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def scheduler_view(job_ids: set[str]) -> dict[str, JobView]:
    """Slurm's state of these jobs: squeue for jobs it still holds, sacct (when accounting runs) for older ones."""
    if not job_ids or shutil.which("squeue") is None:
        return {}
    out: dict[str, JobView] = {}
    text = _run(["squeue", "-h", "--states=all", "-u", getpass.getuser(), "-o", "%i|%T|%r|%N"]) or ""
    for line in text.splitlines():
        job, state, reason, node = (line.split("|") + ["", "", "", ""])[:4]
        if job in job_ids:
            out[job] = view(state, reason, node)
    missing = job_ids - set(out)
    if missing and shutil.which("sacct"):
        text = _run(["sacct", "-n", "-X", "-P", "-j", ",".join(sorted(missing)), "-o", "JobID,State,Reason,NodeList"])
        for line in (text or "").splitlines():
            job, state, reason, node = (line.split("|") + ["", "", "", ""])[:4]
            if job in missing:
                out[job] = view(state.split()[0] if state else "", reason, node)
    return out


def view(state: str, reason: str, node: str) -> JobView:
    reason = "" if reason in ("None", "(null)") else reason
    node = "" if node in ("(null)", "None assigned") else node
    return JobView(state.lower(), reason=reason, node=node, live=state in LIVE)
