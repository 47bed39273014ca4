"""Running a study: each member's run trained by its own headless `diffdash new` / `diffdash resume` process,
at most `parallel` at a time, the machine's cores divided between them.

No queue server and no state of our own beyond the launch records: every decision is made from the run
folders (see members.py), so a runner killed at any moment and started again finishes the study with no run
trained twice. Children live in their own sessions: a Ctrl-C or a closed terminal reaches the runner, which
stops them cleanly (SIGTERM: each checkpoints and marks its run stopped) and waits for them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from diffdash.store import RunDir, _proc_start
from diffdash.study.launch import available_cpus, classifier_cached, closing, log_tail, training
from diffdash.study.members import (
    MemberState,
    inspect,
    launched_alive,
    log_path,
    remove_launch,
    to_trash,
    write_launch,
    write_tag,
)
from diffdash.study.spec import Member, Study
from diffdash.study.warm_start import WarmProcess, start_member, warm_start_wanted

READY_WAIT_S = 300.0  # longest a launch holds back the next one while it sets up (data, classifier)
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


class StudyRefused(RuntimeError):
    """The study cannot run as the file says: a changed or foreign run folder (the CLI exits 2)."""


@dataclass
class Child:
    member: Member
    proc: subprocess.Popen | WarmProcess
    action: str
    started: float
    log: IO[bytes]
    ready: bool = False


class StudyRunner:
    def __init__(
        self,
        study: Study,
        root: Path,
        members: list[Member] | None = None,
        *,
        parallel: int = 1,
        restart_changed: bool = False,
        poll_s: float = 1.0,
        say: Callable[[str], None] = print,
        cpus: int | None = None,
    ):
        self.study = study
        self.root = Path(root)
        self.members = members if members is not None else list(study.members)
        self.parallel = max(1, parallel)
        self.restart_changed = restart_changed
        self.poll_s = poll_s
        self.say = say
        self.threads = max(1, (cpus or available_cpus()) // self.parallel)
        self.active: list[Child] = []
        self.waiting: list[MemberState] = []
        self.queue: list[MemberState] = []
        self.failed: dict[str, str] = {}
        self.done: set[str] = set()
        self._retried: set[str] = set()
        self._stop = threading.Event()
        self._detach = False
        self.running = False
        self.on_tick: Callable[[], None] | None = None  # called once a loop, in the runner's thread

    # ---------------------------------------------------------------- planning
    def plan(self) -> list[MemberState]:
        """What each member needs; StudyRefused when a folder is foreign or changed (without --restart-changed)."""
        states = [inspect(self.root, self.study, m) for m in self.members]
        foreign = [s for s in states if s.action == "refuse"]
        if foreign:
            lines = [f"  {s.name}: {s.why}" for s in foreign]
            raise StudyRefused("run folders in the way of this study:\n" + "\n".join(lines))
        changed = [s for s in states if s.changed]
        if changed and not self.restart_changed:
            lines = [f"  {s.name} ({s.run.id}): " + "; ".join(s.changed) for s in changed]
            raise StudyRefused(
                "these runs were started with other options than the study file now gives:\n"
                + "\n".join(lines)
                + "\nput the options back, or pass --restart-changed to move those runs to the trash and start them"
                " again"
            )
        for s in states:
            if s.state not in ("pending", "foreign") and not s.changed:
                self._tag(s.member)
        for s in changed:
            if s.action == "wait":
                raise StudyRefused(f"{s.name} changed but is still training: stop it first (diffdash watch {s.run.id})")
            s.action, s.why = "restart", "options changed: " + "; ".join(s.changed)
        return states

    # ---------------------------------------------------------------- the loop
    def run(self) -> int:
        """Run until every member is done, failed, or `stop()` was called; 0 when every member finished or
        the study was stopped as asked (Ctrl-C, SIGTERM, the board's q or d) with none failed, else 1."""
        states = self.plan()
        self.running = True
        self.queue = [s for s in states if s.action in ("start", "resume", "restart")]
        self.waiting = [s for s in states if s.action == "wait"]
        self.done = {s.name for s in states if s.action == "skip"}
        for s in states:
            self.say(self._plan_line(s))
        self._loop()
        return closing(self.study, self.members, self.done, self.failed, self._stop.is_set(), self.say)

    def _loop(self) -> None:
        """Launch, reap and watch until nothing is left or `stop()`; then stop the children (or leave them).
        The search (search.py) runs the same loop with its own `_watch`, `_next` and `_more`."""
        try:
            while True:
                self._reap()
                self._watch()
                if self._stop.is_set():
                    break
                while self._slots() > 0 and self._all_set_up():
                    s = self._next()
                    if s is None:
                        break
                    self._launch(s)
                if self.on_tick is not None:
                    self.on_tick()
                if not self._more():
                    break
                self._stop.wait(self.poll_s)
            if self._detach:
                self._leave_children()
            else:
                self._stop_children()
        finally:
            self.running = False

    def _watch(self) -> None:
        self._check_waiting()

    def _next(self) -> MemberState | None:
        """The next member to launch, or None."""
        return self.queue.pop(0) if self.queue else None

    def _more(self) -> bool:
        """Whether anything is left to launch, reap or wait for."""
        return bool(self.queue or self.active or self.waiting)

    def stop(self, detach: bool = False) -> None:
        """Ask the loop to stop: its children checkpoint and stop (or, with `detach`, keep training on
        their own; the next `study run` waits for them); runs it only waited for keep training."""
        self._detach = detach
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _slots(self) -> int:
        return self.parallel - len(self.active) - len(self.waiting)

    def _plan_line(self, s: MemberState) -> str:
        what = {
            "start": "start",
            "resume": f"resume from epoch {s.epoch}",
            "skip": "nothing to do",
            "wait": "still training in another process: wait for it",
            "restart": "start again",
        }[s.action]
        return f"{s.name}: {s.state}, {what}" + (f" ({s.why})" if s.why and s.action != "skip" else "")

    def command(self, s: MemberState) -> list[str]:
        m = s.member
        base = [sys.executable, "-m", "diffdash"]
        if s.action == "resume":
            argv = [*base, "resume", m.run_id, "--runs-dir", str(self.root), "--headless", "--epochs", str(m.epochs)]
            if m.options.get("tensorboard"):  # a resumed member keeps logging where it started
                argv += ["--tensorboard", str(m.options["tensorboard"])]
            return argv
        argv = [*base, "new", "--headless", "--name", m.run_id, "--runs-dir", str(self.root)]
        argv += ["--study", self.study.name, *m.argv]
        if "threads" in m.params and "threads" not in m.options:
            argv += ["--threads", str(self.threads)]
        return argv

    def _launch(self, s: MemberState) -> None:
        if s.action == "restart" and s.run.path.exists():
            self.say(f"{s.name}: moved the old run folder to {to_trash(s.run)}")
        argv = self.command(s)
        env = {**os.environ, **{k: str(self.threads) for k in THREAD_ENV}}
        log = log_path(self.root, self.study, s.member)
        log.parent.mkdir(parents=True, exist_ok=True)
        f = open(log, "ab")  # noqa: SIM115 - open for the child's lifetime, closed in _reap
        f.write(f"\n$ {' '.join(argv[1:])}\n".encode())
        f.flush()
        proc: subprocess.Popen | WarmProcess | None = None
        if warm_start_wanted():  # forked from a server that imported torch once: no Python start per member
            try:
                proc = start_member(argv[3:], env, str(log), self.threads)
            except OSError as exc:  # no fork server here: a fresh process, as with DIFFDASH_WARM_START=0
                self.say(f"{s.name}: warm start failed ({exc}); starting a fresh process")
        if proc is None:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        write_launch(self.root, self.study, s.member, proc.pid, _proc_start(proc.pid), argv)
        self.active.append(Child(s.member, proc, s.action, time.monotonic(), f))
        verb = "resuming" if s.action == "resume" else "starting"
        self.say(f"{s.name}: {verb} (pid {proc.pid}, {self.threads} threads, log {log})")

    def _tag(self, member: Member) -> None:
        """Once a child has created its run folder, record there the options the file gave it."""
        run = RunDir(self.root / member.run_id)
        if not run.study_path.exists() and run.study_name() == self.study.name:
            write_tag(run, self.study, member)

    def _reap(self) -> None:
        for child in list(self.active):
            self._tag(child.member)
            if not child.ready:
                child.ready = self._is_ready(child)
            rc = child.proc.poll()
            if rc is None:
                continue
            child.log.close()
            self.active.remove(child)
            remove_launch(self.root, self.study, child.member)
            self._settle(child.member, rc)

    def _all_set_up(self) -> bool:
        """While the MNIST classifier that --eval-every needs is not cached yet, launches are staggered: the
        next waits until the last has set up (and so trained and cached the classifier once for all)."""
        if all(classifier_cached(s.member.params) for s in self.queue):
            return True
        return all(c.ready for c in self.active) and all(training(self.root / s.member.run_id) for s in self.waiting)

    def _is_ready(self, child: Child) -> bool:
        """Training (its status names its pid and its epoch length), or waited for long enough."""
        if time.monotonic() - child.started > READY_WAIT_S:
            return True
        return training(self.root / child.member.run_id, child.proc.pid)

    def _settle(self, member: Member, rc: int | None) -> None:
        s = inspect(self.root, self.study, member)
        if s.action == "skip":  # finished, or its --max-time is spent
            self.done.add(member.name)
            self.say(f"{member.name}: finished ({s.epoch} epochs{'; ' + s.why if s.why else ''})")
        elif s.action == "wait":  # another runner got there first: its process trains the run
            self.waiting.append(s)
            self.say(f"{member.name}: trained by another process (pid in its status): waiting for it")
        elif s.state == "stopped" and self._stop.is_set():
            self.say(f"{member.name}: stopped at epoch {s.epoch}; continues when the study runs again")
        else:
            tail = log_tail(log_path(self.root, self.study, member))
            why = f"exit {rc}" if rc is not None else s.state
            self.failed[member.name] = why
            self.say(f"{member.name}: {s.state} ({why}){': ' + tail if tail else ''}")

    def _check_waiting(self) -> None:
        """Runs trained by another process (a killed runner's child): take over once it is gone."""
        for s in list(self.waiting):
            if s.state == "starting" and launched_alive(self.root, self.study, s.member):
                continue
            now = inspect(self.root, self.study, s.member)
            if now.action == "wait":
                continue
            self.waiting.remove(s)
            if now.action == "skip":
                self.done.add(s.name)
                self.say(f"{s.name}: finished ({now.epoch} epochs)")
            elif s.name not in self._retried and not self._stop.is_set():
                self._retried.add(s.name)
                self.queue.insert(0, now)

    def _leave_children(self) -> None:
        for child in self.active:
            child.log.close()
        if self.active:
            self.say(
                f"left {len(self.active)} run(s) training on their own: "
                + ", ".join(c.member.name for c in self.active)
            )
        self.active = []

    def _stop_children(self) -> None:
        if self.active:
            self.say(f"stopping {len(self.active)} run(s): each checkpoints and marks itself stopped…")
        for child in self.active:
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        while self.active:
            time.sleep(0.2)
            self._reap()
        if self.waiting:
            names = ", ".join(s.name for s in self.waiting)
            self.say(f"left training in their own processes: {names}")
