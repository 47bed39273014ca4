"""A study file's [search] table: what Optuna searches, how it samples and prunes, checked before anything runs.

    [search]
    sampler = "tpe"          # tpe, random or grid
    trials = 16
    metric = "val_loss"      # or "fid" (needs eval_every)
    direction = "minimize"
    pruner = "median"        # median, halving or none

    [search.params]
    lr = { low = 1e-4, high = 3e-3, log = true }         # a range: floats, or ints when both bounds are
    n_hidden = [[16, 32, 32, 16], [16, 32, 64, 32, 16]]  # choices

Every value a trial can get is checked as `diffdash new` checks it (the bounds of a range, each choice), so a
bad one fails here naming the key in the file. No optuna at import: only `distribution()` needs it.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any

SEARCH_KEYS = (
    "sampler",
    "trials",
    "metric",
    "direction",
    "pruner",
    "seed",
    "startup_trials",
    "warmup_epochs",
    "params",
)
SAMPLERS = ("tpe", "random", "grid")
METRICS = ("val_loss", "fid")
DIRECTIONS = ("minimize", "maximize")
PRUNERS = ("median", "halving", "none")
RANGE_KEYS = ("low", "high", "log", "step")
MAX_TRIALS = 10_000
MAX_COMBINATIONS = 256  # choices x range bounds checked together at load; beyond, each trial is checked as drawn


@dataclass
class Param:
    key: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: list[Any] | None = None

    @property
    def is_int(self) -> bool:
        return self.choices is None and isinstance(self.low, int) and isinstance(self.high, int)

    def labels(self) -> list[Any]:
        """The choices as Optuna stores them: a list (n_hidden) becomes its text '16,32,32,16'."""
        return [label(c) for c in self.choices or []]

    def decode(self, stored: Any) -> Any:
        """Optuna's stored value -> the option's value as the study file writes it."""
        if self.choices is None:
            return int(stored) if self.is_int else float(stored)
        for c in self.choices:
            if label(c) == stored:
                return c
        return stored

    def distribution(self):
        import optuna

        if self.choices is not None:
            return optuna.distributions.CategoricalDistribution(self.labels())
        if self.is_int:
            return optuna.distributions.IntDistribution(self.low, self.high, log=self.log, step=self.step or 1)
        return optuna.distributions.FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def describe(self) -> str:
        if self.choices is not None:
            return " | ".join(map(str, self.labels()))
        return f"{self.low:g}..{self.high:g}" + (" (log)" if self.log else "")


def label(value: Any) -> Any:
    return ",".join(map(str, value)) if isinstance(value, list) else value


@dataclass
class SearchSpec:
    trials: int
    params: list[Param]
    sampler: str = "tpe"
    metric: str = "val_loss"
    direction: str = "minimize"
    pruner: str = "median"
    seed: int | None = 0
    startup_trials: int = 4  # trials finished before the median pruner prunes anything
    warmup_epochs: int = 1  # epochs every trial trains before it can be pruned
    defaults: dict[str, Any] = field(default_factory=dict)

    def options(self, stored: dict[str, Any]) -> dict[str, Any]:
        """A trial's parameters (as Optuna stores them) -> study-file options."""
        by_key = {p.key: p for p in self.params}
        return {k: by_key[k].decode(v) if k in by_key else v for k, v in stored.items()}

    def grid_size(self) -> int:
        return math.prod(len(p.choices or []) for p in self.params)


def parse_search(data: dict[str, Any], study: str, defaults: dict[str, Any], default_seeds) -> SearchSpec:
    from diffdash.study.spec import StudyError, _known, _option_key

    table = data["search"]
    if not isinstance(table, dict):
        raise StudyError("search", f"must be a table ([search]), got {type(table).__name__}")
    for other in ("runs", "grid"):
        if data.get(other):
            raise StudyError(other, "a study with [search] runs its trials only: move the runs to another file")
    if default_seeds is not None:
        raise StudyError("defaults.seeds", "a search trains one seed per trial: seeds are for [runs] and [grid]")
    _known(table, SEARCH_KEYS, "search")
    spec = SearchSpec(trials=_trials(table.get("trials")), params=[], defaults=dict(defaults))
    for key, allowed in (("sampler", SAMPLERS), ("metric", METRICS), ("direction", DIRECTIONS), ("pruner", PRUNERS)):
        value = table.get(key, getattr(spec, key))
        if value not in allowed:
            hint = difflib.get_close_matches(str(value), allowed, n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise StudyError(f"search.{key}", f"unknown {key} {value!r}{extra}: choose one of {', '.join(allowed)}")
        setattr(spec, key, value)
    for key, least in (("seed", 0), ("startup_trials", 0), ("warmup_epochs", 0)):
        value = table.get(key, getattr(spec, key))
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise StudyError(f"search.{key}", f"must be a whole number from {least}, got {value!r}")
        setattr(spec, key, value)
    params = table.get("params")
    if not isinstance(params, dict) or not params:
        raise StudyError("search.params", "say what to search: [search.params] with ranges or lists of choices")
    for key, value in params.items():
        where = f"search.params.{key}"
        normal = _option_key(key, where)
        param = _param(normal, value, where)
        for probe in [param.low, param.high] if param.choices is None else param.choices:
            _member(study, "trial-probe", defaults, {normal: probe})
        spec.params.append(param)
    _check_combinations(spec, study, defaults)
    if spec.sampler == "grid":
        ranged = [p.key for p in spec.params if p.choices is None]
        if ranged:
            raise StudyError(f"search.params.{ranged[0]}", "the grid sampler needs a list of choices, not a range")
        if spec.trials > spec.grid_size():
            raise StudyError("search.trials", f"the grid has {spec.grid_size()} points: trials must be at most that")
    _check_metric(spec, study, defaults)
    return spec


def _check_combinations(spec: SearchSpec, study: str, defaults: dict[str, Any]) -> None:
    """Options that only matter together (unet_channels with net = "unet"): every combination of the choices
    and the ranges' bounds is checked as `new` checks it, when there are at most MAX_COMBINATIONS."""
    import itertools

    values = [[p.low, p.high] if p.choices is None else p.choices for p in spec.params]
    if len(spec.params) < 2 or math.prod(len(v) for v in values) > MAX_COMBINATIONS:
        return
    for combo in itertools.product(*values):
        _member(study, "trial-probe", defaults, dict(zip([p.key for p in spec.params], combo, strict=True)))


def _member(study: str, name: str, defaults: dict[str, Any], own: dict[str, Any]):
    from diffdash.study.spec import _member as member

    return member(study, name, defaults, own, "search.params")


def _trials(value: Any) -> int:
    from diffdash.study.spec import StudyError

    if value is None:
        raise StudyError("search.trials", "say how many trials to run, e.g. trials = 16")
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_TRIALS:
        raise StudyError("search.trials", f"must be a whole number from 1 to {MAX_TRIALS}, got {value!r}")
    return value


def _param(key: str, value: Any, where: str) -> Param:
    from diffdash.study.spec import StudyError, _known

    if isinstance(value, list):
        if not value:
            raise StudyError(where, "the list of choices is empty: give at least one value")
        labels = [label(v) for v in value]
        if len(set(map(repr, labels))) != len(labels):
            raise StudyError(where, f"a choice appears twice in {value!r}")
        return Param(key, choices=list(value))
    if not isinstance(value, dict):
        raise StudyError(where, f"takes a range {{ low = 1e-4, high = 3e-3, log = true }} or a list, got {value!r}")
    _known(value, RANGE_KEYS, where)
    low, high, log, step = (value.get(k) for k in RANGE_KEYS)
    for name, bound in (("low", low), ("high", high)):
        if not isinstance(bound, (int, float)) or isinstance(bound, bool) or not math.isfinite(bound):
            raise StudyError(f"{where}.{name}", f"a range needs a number for {name}, got {bound!r}")
    if not low < high:
        raise StudyError(where, f"the range is empty: low ({low:g}) must be below high ({high:g})")
    log = bool(log) if log is not None else False
    if log and low <= 0:
        raise StudyError(f"{where}.low", f"a log range needs bounds above 0, got low = {low:g}")
    if step is not None and (not isinstance(step, (int, float)) or isinstance(step, bool) or step <= 0 or log):
        raise StudyError(f"{where}.step", "step must be a number above 0, and a log range takes none")
    return Param(key, low=low, high=high, log=log, step=step)


def _check_metric(spec: SearchSpec, study: str, defaults: dict[str, Any]) -> None:
    """FID is measured only every eval_every epochs: a search on it needs that to happen within a trial."""
    from diffdash.study.spec import StudyError

    if spec.metric != "fid":
        return
    searched = {p.key for p in spec.params}
    if "eval_every" in searched:
        return
    every = defaults.get("eval_every")
    if not every:
        raise StudyError("search.metric", "fid is never recorded: set eval_every (and eval_n) in [defaults]")
    searched_epochs = next((p for p in spec.params if p.key == "epochs"), None)
    if searched_epochs is None:
        least = defaults.get("epochs", 20)
    else:
        least = min(searched_epochs.choices) if searched_epochs.choices else searched_epochs.low
    if least < every:
        raise StudyError("search.metric", f"fid is never recorded: eval_every ({every}) is above the epochs trained")
