"""Running a search: Optuna asks for trials, each trains as its own headless `diffdash new` process (the study
runner's process handling), at most `parallel` at a time.

This process follows each trial's metrics.jsonl, reports every epoch's metric to Optuna and asks whether to
prune; a pruned trial is stopped through its run's control file, so it checkpoints and stops as on Ctrl-C,
and is marked `pruned` in its status. Optuna's storage is SQLite in the study's folder, and every decision
is taken again from storage and run folders when the search starts: a trial Optuna still holds as running
is resumed from its checkpoint (or followed, when a killed runner's child still trains it) and never started
as a new trial, so a search killed at any moment and run again trains no trial twice and loses none.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from diffdash.distributed.control_file import ControlState, write_control
from diffdash.runs.history import Follower
from diffdash.store import RunDir
from diffdash.study.members import MemberState, inspect
from diffdash.study.runner import StudyRefused, StudyRunner
from diffdash.study.search_trials import PRUNED, open_search, trial_member, trial_name
from diffdash.study.spec import Member, Study, StudyError


@dataclass
class Live:
    """A trial Optuna holds as running, and what this process has told Optuna of it."""

    trial: object  # optuna.trial.Trial
    member: Member
    follower: Follower
    reported: set[int] = field(default_factory=set)
    pruned_at: int | None = None

    @property
    def number(self) -> int:
        return int(self.member.trial or 0)


class SearchRunner(StudyRunner):
    def __init__(
        self,
        study: Study,
        root: Path,
        *,
        parallel: int = 1,
        poll_s: float = 0.25,  # a trial is followed epoch by epoch: a prune lands before the next one ends
        say: Callable[[str], None] = print,
        cpus: int | None = None,
    ):
        super().__init__(study, root, [], parallel=parallel, poll_s=poll_s, say=say, cpus=cpus)
        self.spec = study.search
        self.ostudy = None
        self.lives: dict[str, Live] = {}  # by member name: trials launched or followed by this runner
        self.external: dict[str, Live] = {}  # trained by a process this runner did not start
        self.finished: dict[int, str] = {}  # trial number -> complete, pruned or fail (this session)

    # ---------------------------------------------------------------- planning
    def plan(self) -> list[MemberState]:
        """Open (or create) the storage and settle every trial it holds as running against its run folder."""
        optuna = open_search(self.study, self.root, create=True)  # a first look, to count what is there
        done = len(optuna.get_trials(deepcopy=False))
        self.ostudy = open_search(self.study, self.root, done=done)
        self._check_strays()
        self.queue, self.external, self.lives = [], {}, {}
        import optuna as op

        for ft in self.ostudy.get_trials(deepcopy=False, states=(op.trial.TrialState.RUNNING,)):
            try:
                member = trial_member(self.study, ft.number, ft.params)
            except StudyError as exc:
                raise StudyRefused(f"{trial_name(ft.number)} cannot go on with the file as it is now: {exc}") from None
            live = Live(op.trial.Trial(self.ostudy, ft._trial_id), member, Follower(RunDir(self.root / member.run_id)))
            live.reported = set(ft.intermediate_values)
            live.pruned_at = ft.user_attrs.get("pruned_at")
            self.members.append(member)
            self._place(live, inspect(self.root, self.study, member), planning=True)
        left = self.spec.trials - len(self.ostudy.get_trials(deepcopy=False))
        self.say(
            f"search {self.study.name}: {done} trial(s) in {self._storage_name()}, "
            f"{len(self.queue)} to resume, {len(self.external)} training elsewhere, {max(0, left)} new to run"
        )
        return list(self.queue)

    def _storage_name(self) -> str:
        from diffdash.study.search_trials import storage_path

        return str(storage_path(self.root, self.study))

    def _check_strays(self) -> None:
        """Trial folders that storage does not know (its file deleted or replaced): refuse rather than mix."""
        numbers = {t.number for t in self.ostudy.get_trials(deepcopy=False)}
        prefix = f"{self.study.name}-trial-"
        strays = [
            p.name
            for p in (self.root.iterdir() if self.root.is_dir() else [])
            if p.name.startswith(prefix)
            and p.name[len(prefix) :].isdigit()
            and int(p.name[len(prefix) :]) not in numbers
        ]
        if strays:
            raise StudyRefused(
                f"run folders {', '.join(sorted(strays))} belong to no trial in {self._storage_name()}: "
                "move them away (diffdash rm) or put the search's storage back"
            )

    def _place(self, live: Live, ms: MemberState, planning: bool = False) -> None:
        """Where a running trial stands by its run folder: followed, finished, pruned, or to (re)launch."""
        name = live.member.name
        if ms.action == "refuse":
            raise StudyRefused(ms.why)
        self._follow(live)
        if ms.action == "wait":
            self.external[name] = live
            self.say(f"{name}: still training in another process: following it")
        elif live.pruned_at is not None and ms.state in ("stopped", PRUNED, "finished"):
            self._tell_pruned(live, ms)
        elif ms.state == "finished" and ms.epoch >= live.member.epochs:
            self._tell_complete(live)
        elif planning or not self.stopping:
            self.lives[name] = live
            self.queue.append(ms)
            if not planning:
                self.say(f"{name}: {ms.state}, resuming it")

    # ---------------------------------------------------------------- the loop
    def run(self) -> int:
        if self.ostudy is None:
            self.plan()
        self.running = True
        self._loop()  # the study runner's, with the hooks below
        return self._summary()

    def _watch(self) -> None:
        for live in list(self.lives.values()) + list(self.external.values()):
            self._follow(live)
        self._check_external()

    def _next(self) -> MemberState | None:
        return self.queue.pop(0) if self.queue else self._ask()

    def _more(self) -> bool:
        return bool(self.queue or self.active or self.external) or self._can_ask()

    def _summary(self) -> int:
        import optuna

        trials = self.ostudy.get_trials(deepcopy=False)
        states = [t.state for t in trials]
        counts = {s.name.lower(): states.count(s) for s in set(states)}
        shown = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        running = counts.get("running", 0)
        self.say(f"search {self.study.name}: {len(trials)}/{self.spec.trials} trials ({shown})")
        complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        if complete:
            best = self.ostudy.best_trial
            self.say(f"best: {trial_name(best.number)} {self.spec.metric} {best.value:.5f} with {best.params}")
        if running or len(trials) < self.spec.trials:
            self.say("run the same command again to continue")
            return 0 if self._stop.is_set() and not self.failed else 1
        return 1 if self.failed else 0

    def _slots(self) -> int:
        return self.parallel - len(self.active) - len(self.external)

    def _can_ask(self) -> bool:
        return not self._stop.is_set() and len(self.ostudy.get_trials(deepcopy=False)) < self.spec.trials

    def _ask(self) -> MemberState | None:
        if not self._can_ask():
            return None
        trial = self.ostudy.ask({p.key: p.distribution() for p in self.spec.params})
        try:
            member = trial_member(self.study, trial.number, trial.params)
        except StudyError as exc:  # a combination `new` refuses, in a space too big to check all at load
            self._tell(trial, state=_state("FAIL"))
            self.failed[trial_name(trial.number)] = str(exc)
            self.say(f"{trial_name(trial.number)}: {exc}: trial failed")
            return None
        self.members.append(member)
        run = RunDir(self.root / member.run_id)
        if run.path.exists():  # only a folder storage does not know: _check_strays refused those at the start
            self._tell(trial, state=_state("FAIL"))
            raise StudyRefused(f"{run.path} exists already: the search will not train into it")
        self.lives[member.name] = Live(trial, member, Follower(run))
        return MemberState(member, run, "pending", "start")

    def command(self, s: MemberState) -> list[str]:
        argv = super().command(s)
        return argv if s.action == "resume" else [*argv, "--trial", str(s.member.trial)]

    # ---------------------------------------------------------------- following and pruning
    def _follow(self, live: Live) -> None:
        """Report each new epoch's metric to Optuna, and stop the trial when Optuna says to prune it."""
        if not live.follower.run.path.exists():
            return
        live.follower.poll()
        new = [(e, v) for e, v in metric_values(live.follower.history, self.spec.metric) if e not in live.reported]
        for epoch, value in new:  # in order, as Optuna's own loop: several epochs seen at once still prune
            live.trial.report(value, epoch)  # at the first that the pruner rejects
            live.reported.add(epoch)
            if live.pruned_at is not None or self.spec.pruner == "none" or epoch >= live.member.epochs:
                continue
            if live.trial.should_prune():
                live.pruned_at = epoch
                live.trial.set_user_attr("pruned_at", epoch)  # stored first: a runner killed now still knows
                write_control(live.follower.run.path, ControlState(stop=True))
                self.say(f"{live.member.name}: pruned after epoch {epoch} ({self.spec.metric} {value:.5f})")

    def _check_external(self) -> None:
        for name, live in list(self.external.items()):
            ms = inspect(self.root, self.study, live.member)
            if ms.action != "wait":
                del self.external[name]
                self._place(live, ms)

    def _settle(self, member: Member, rc: int | None) -> None:
        live = self.lives.pop(member.name, None)
        if live is None:
            return super()._settle(member, rc)
        self._follow(live)
        ms = inspect(self.root, self.study, member)
        if live.pruned_at is not None and ms.state in ("stopped", "finished"):
            self._tell_pruned(live, ms)
        elif ms.state == "finished" and ms.epoch >= member.epochs:
            self._tell_complete(live)
        elif ms.action == "wait":
            self.external[member.name] = live
        elif ms.state == "stopped" and self.stopping:
            self.say(f"{member.name}: stopped at epoch {ms.epoch}; continues when the search runs again")
        else:
            super()._settle(member, rc)  # says why, from the child's log
            self._tell(live.trial, state=_state("FAIL"))
            self.finished[live.number] = "fail"

    def _tell(self, trial, value: float | None = None, state=None) -> None:
        """Optuna's tell; the grid sampler's `study.stop()` once the grid is used up (which raises outside
        `optimize`, after the trial is stored) is no error here: the loop stops asking on its own."""
        try:
            self.ostudy.tell(trial, value, state=state)
        except RuntimeError as exc:
            if "Study.stop" not in str(exc):
                raise

    def _tell_pruned(self, live: Live, ms: MemberState) -> None:
        mark_pruned(RunDir(self.root / live.member.run_id), live.pruned_at)
        self._tell(live.trial, state=_state("PRUNED"))
        self.finished[live.number] = PRUNED
        self.done.add(live.member.name)
        self.say(f"{live.member.name}: pruned at epoch {live.pruned_at} (checkpoint kept)")

    def _tell_complete(self, live: Live) -> None:
        values = metric_values(live.follower.history, self.spec.metric)
        if not values:
            self._tell(live.trial, state=_state("FAIL"))
            self.finished[live.number] = "fail"
            self.failed[live.member.name] = f"{self.spec.metric} never recorded"
            self.say(f"{live.member.name}: finished, but {self.spec.metric} was never recorded: trial failed")
            return
        value = values[-1][1]
        self._tell(live.trial, value)
        self.finished[live.number] = "complete"
        self.done.add(live.member.name)
        self.say(f"{live.member.name}: finished, {self.spec.metric} {value:.5f}")


def _state(name: str):
    import optuna

    return getattr(optuna.trial.TrialState, name)


def metric_values(history, metric: str) -> list[tuple[int, float]]:
    """(epoch, value) of the search's metric, in epoch order: the validation loss, or FID where measured."""
    if metric == "fid":
        pairs = [(e.get("epoch"), e.get("fid")) for e in history.evals]
    else:
        pairs = list(zip(history.epoch, history.val_loss, strict=False))
    out: dict[int, float] = {}
    for epoch, value in pairs:
        if isinstance(epoch, int) and isinstance(value, (int, float)) and math.isfinite(value):
            out[epoch] = float(value)
    return sorted(out.items())


def mark_pruned(run: RunDir, epoch: int | None) -> None:
    """The stopped run's status says `pruned` (and at which epoch); its checkpoint stays, to resume by hand."""
    try:
        status = run.read_status()
    except (OSError, ValueError):
        return
    if status.get("state") in ("stopped", "finished", PRUNED):
        run.write_status({**status, "state": PRUNED, "pruned_at": epoch})
