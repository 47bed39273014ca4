"""Running a study on a cluster: every member that needs training is handed to the executor (a Slurm job, a Ray
task) at once, and the scheduler decides when and where it trains; this loop only follows them.

It offers the local runner's face (plan, run, stop, active, on_tick, say) so the study board and the plain
progress lines serve both. The run folders stay the source of truth: a member whose job the scheduler still
holds (queued, running, requeued) is followed, never submitted twice; one whose job is gone is submitted again
and resumes from its checkpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffdash.study.executors.base import ExecutorError, JobView, joined_state
from diffdash.study.executors.records import (
    cancel_path,
    read_record,
    record_path,
    update_record,
    where_text,
    write_record,
)
from diffdash.study.launch import log_tail
from diffdash.study.members import MemberState, inspect, log_path, to_trash
from diffdash.study.runner import StudyRunner, closing
from diffdash.study.spec import Member, Study


@dataclass
class Placed:
    member: Member
    record: dict[str, Any]
    view: JobView | None = None


class ClusterRunner:
    def __init__(
        self,
        study: Study,
        root: Path,
        members: list[Member] | None,
        executor: Any,
        *,
        restart_changed: bool = False,
        poll_s: float = 2.0,
        say: Callable[[str], None] = print,
    ):
        self.study = study
        self.root = Path(root)
        self.members = members if members is not None else list(study.members)
        self.executor = executor
        self.restart_changed = restart_changed
        self.poll_s = poll_s
        self.say = say
        self.parallel = max(1, len(self.members))  # the scheduler decides; for the ETA
        self.active: list[Placed] = []
        self.done: set[str] = set()
        self.failed: dict[str, str] = {}
        self._stop = threading.Event()
        self._detach = False
        self.running = False
        self.on_tick: Callable[[], None] | None = None

    def plan(self) -> list[MemberState]:
        """The local runner's checks (foreign or changed folders refuse) and its tags."""
        return StudyRunner(self.study, self.root, self.members, restart_changed=self.restart_changed).plan()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, detach: bool = False) -> None:
        self._detach = detach
        self._stop.set()

    def run(self) -> int:
        states = self.plan()
        self.running = True
        try:
            records = {s.name: r for s in states if (r := read_record(self.root, self.study, s.member))}
            views = self.executor.poll(records) if records else {}
            for s in states:
                self._place(s, records.get(s.name), views.get(s.name))
            while self.active and not self._stop.is_set():
                self._follow()
                if self.on_tick is not None:
                    self.on_tick()
                if self.active:
                    self._stop.wait(self.poll_s)
            if self.active:
                self._leave()
        finally:
            self.running = False
            self.executor.close()
        return closing(self.study, self.members, self.done, self.failed, self._stop.is_set(), self.say)

    def _place(self, s: MemberState, record: dict[str, Any] | None, view: JobView | None) -> None:
        name = self.executor.name
        if record is not None and view is not None and view.live:
            self.active.append(Placed(s.member, record, view))
            self.say(f"{s.name}: {where_text(record)} is {view.state}: following it")
            return
        if s.action == "skip":
            self.done.add(s.name)
            self.say(f"{s.name}: finished, nothing to do")
            return
        if s.action == "restart" and s.run.path.exists():
            self.say(f"{s.name}: moved the old run folder to {to_trash(s.run)}")
        write_record(self.root, self.study, s.member, name)  # before: a job may start and add its node at once
        try:
            fields = self.executor.submit(s.member)
        except ExecutorError as exc:  # e.g. sbatch refused the partition: this member fails, the rest go on
            record_path(self.root, self.study, s.member).unlink(missing_ok=True)
            self.failed[s.name] = str(exc)
            self.say(f"{s.name}: {exc}")
            return
        if fields:
            update_record(self.root, self.study, s.member, **fields)
        record = read_record(self.root, self.study, s.member) or {"executor": name}
        self.active.append(Placed(s.member, record))
        verb = {"resume": f"resume from epoch {s.epoch}", "wait": "follow"}.get(s.action, "start")
        self.say(f"{s.name}: {s.state}, {verb}: {where_text(record)} (log {log_path(self.root, self.study, s.member)})")

    def _follow(self) -> None:
        views = self.executor.poll({p.member.name: p.record for p in self.active})
        for p in list(self.active):
            StudyRunner(self.study, self.root, [p.member])._tag(p.member)
            p.view = views.get(p.member.name)
            fresh = read_record(self.root, self.study, p.member)
            if fresh is not None and fresh.get("job_id") == p.record.get("job_id"):
                p.record = fresh  # the node it landed on
            if p.view is None or p.view.live:
                continue
            self.active.remove(p)
            self._settle(p)

    def _settle(self, p: Placed) -> None:
        s = inspect(self.root, self.study, p.member)
        if s.state == "finished" and s.epoch >= p.member.epochs:
            self.done.add(p.member.name)
            self.say(f"{p.member.name}: finished ({s.epoch} epochs)")
            return
        state, note = joined_state(s.state, p.view)
        why = f"{state}{' (' + note + ')' if note else ''}"
        tail = log_tail(log_path(self.root, self.study, p.member))
        self.failed[p.member.name] = why
        self.say(f"{p.member.name}: {why} at epoch {s.epoch}{': ' + tail if tail else ''}")

    def _leave(self) -> None:
        names = [p.member.name for p in self.active]
        if self.executor.stops_with_driver:  # a Ray driver's tasks end with it: stop them cleanly
            for p in self.active:
                cancel_path(self.root, self.study, p.member).touch()
            self.say(f"stopping {len(names)} run(s): each checkpoints and marks itself stopped…")
            self.executor.wait_stopped([p.member.name for p in self.active])
        else:
            self.say(self.executor.leave(names))
        self.active = []
