"""A search's trials: Optuna's SQLite storage in the study's folder, and the run folder each trial trains in.

A trial is an ordinary run folder `<study>-trial-NNN` (config.json says `study` and `trial`), made by a
headless `diffdash new` like any study member. Optuna's storage (`<runs>/.studies/<study>/search.sqlite3`)
keeps what Optuna needs (each trial's parameters, per-epoch values, state); the run folder keeps the training.
Reading never creates the storage, so `study status` on a search that never ran changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffdash.study.members import study_dir
from diffdash.study.spec import Member, Study

STORAGE_FILE = "search.sqlite3"
PRUNED = "pruned"


def trial_name(number: int) -> str:
    return f"trial-{number:03d}"


def storage_path(root: Path, study: Study) -> Path:
    return study_dir(root, study) / STORAGE_FILE


def storage_url(root: Path, study: Study) -> str:
    return f"sqlite:///{storage_path(root, study).resolve()}"


def quiet_optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_search(study: Study, root: Path, *, create: bool = True, done: int = 0):
    """The Optuna study of this search (created on first use); None when `create` is off and there is none.

    The sampler's seed moves on by `done` (trials already in storage), so a search run again does not draw
    the same parameters it drew before it was killed.
    """
    optuna = quiet_optuna()
    spec = study.search
    path = storage_path(root, study)
    if not create and not path.is_file():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = None if spec.seed is None else spec.seed + done
    if spec.sampler == "grid":
        sampler = optuna.samplers.GridSampler({p.key: p.labels() for p in spec.params}, seed=seed)
    elif spec.sampler == "random":
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        startup = max(2, min(10, spec.trials // 3))
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)
    if spec.pruner == "median":
        pruner = optuna.pruners.MedianPruner(n_startup_trials=spec.startup_trials, n_warmup_steps=spec.warmup_epochs)
    elif spec.pruner == "halving":
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, spec.warmup_epochs), reduction_factor=2)
    else:
        pruner = optuna.pruners.NopPruner()
    from sqlalchemy.exc import DatabaseError  # Optuna's own dependency

    try:
        return optuna.create_study(
            storage=storage_url(root, study),
            study_name=study.name,
            direction=spec.direction,
            sampler=sampler,
            pruner=pruner,
            load_if_exists=True,
        )
    except DatabaseError as exc:  # cut short or overwritten: one line (exit 2), not SQLAlchemy's traceback
        from diffdash.study.runner import StudyRefused

        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StudyRefused(
            f"{path} is damaged ({reason}): Optuna cannot read the search's trials; to start the search afresh, "
            "move it aside with the search's trial runs (diffdash rm)"
        ) from None


def trial_member(study: Study, number: int, stored: dict[str, Any]) -> Member:
    """The study member a trial trains as: the [defaults] with the trial's parameters."""
    from diffdash.study.spec import _member

    spec = study.search
    member = _member(study.name, trial_name(number), spec.defaults, spec.options(stored), "search.params")
    member.trial = number
    return member


@dataclass
class TrialInfo:
    number: int
    member: Member
    state: str  # running, complete, pruned, fail, waiting
    value: float | None
    params: dict[str, Any]
    pruned_at: int | None = None
    values: dict[int, float] = field(default_factory=dict)  # epoch -> the metric reported


def read_trials(study: Study, root: Path) -> list[TrialInfo]:
    """Every trial in storage, in number order (none when the search never ran)."""
    ostudy = open_search(study, root, create=False)
    if ostudy is None:
        return []
    out = []
    for t in ostudy.get_trials(deepcopy=False):
        state = t.state.name.lower()
        pruned_at = t.user_attrs.get("pruned_at")
        member = trial_member(study, t.number, t.params)
        value = t.value if state == "complete" else (_last(t.intermediate_values) if state == PRUNED else None)
        out.append(TrialInfo(t.number, member, state, value, study.search.options(t.params), pruned_at,
                             dict(t.intermediate_values)))  # fmt: skip
    return out


def _last(values: dict[int, float]) -> float | None:
    return values[max(values)] if values else None


def best_first(trials: list[TrialInfo], direction: str) -> list[TrialInfo]:
    """Finished trials by value (the best on top), then pruned by their last value, running, failed."""
    rank = {"complete": 0, PRUNED: 1, "running": 2, "waiting": 2, "fail": 3}
    sign = 1.0 if direction == "minimize" else -1.0

    def key(t: TrialInfo):
        return (rank.get(t.state, 4), sign * t.value if t.value is not None else float("inf"), t.number)

    return sorted(trials, key=key)


def describe(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={_show(v)}" for k, v in params.items())


def _show(v: Any) -> str:
    if isinstance(v, list):
        return ",".join(map(str, v))
    if isinstance(v, float):
        return format(v, ".3g")
    return str(v)
