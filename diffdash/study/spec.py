"""Reading a study file: its name, shared defaults, explicit runs and grid, checked before anything runs.

Every option of `diffdash new` is allowed, spelled as in the command without the dashes (`n_hidden` or
`n-hidden`). Each member's options are read from the option table as `new` reads its flags and validated
by the same `RunConfig` checks `new` uses (study/member_options.py), so a study file accepts exactly what the
command line accepts, and a bad value fails here, naming the key in the file, instead of in a child process
halfway through the study.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffdash.options.values import ConfigError
from diffdash.study import grid as gridlib
from diffdash.study import member_options
from diffdash.study.member_options import RESERVED, study_options

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TOP_KEYS = ("study", "defaults", "runs", "grid", "report", "search", "slurm", "ray")
EXAMPLES = Path(sys.prefix) / "share" / "diffdash" / "studies"  # where pip installs the repo's studies/*.toml
STUDY_KEYS = ("name", "description")
REPORT_KEYS = ("epochs",)


class StudyError(ValueError):
    """A bad study file; `key` says where in the file (e.g. runs.wide.n_hidden)."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key


@dataclass
class Member:
    """One run of the study: its name, its run folder's id and the options it is trained with."""

    name: str
    run_id: str
    options: dict[str, Any]  # as written in the file (defaults merged), keys with underscores
    origin: dict[str, str]  # key -> where in the file it was set, e.g. "defaults.lr"
    argv: list[str]  # those options as `diffdash new` arguments
    params: dict[str, Any] = field(default_factory=dict)  # every option of `new` as it resolves them
    group: str | None = None  # the member its seeds came from (study/seeds.py)
    trial: int | None = None  # a search's trial number (study/search.py)

    @property
    def epochs(self) -> int:
        return int(self.params.get("epochs") or 0)

    @property
    def model(self) -> str:
        return str(self.params.get("model") or "ddpm")


@dataclass
class Study:
    name: str
    path: Path
    members: list[Member]
    description: str = ""
    report_epochs: list[int] | None = None
    search: Any = None  # a SearchSpec (study/search_spec.py) when the file has a [search] table
    cluster: dict[str, Any] = field(default_factory=dict)  # the [slurm] and [ray] tables (study/executors)

    def select(self, only: tuple[str, ...] | list[str]) -> list[Member]:
        """Members by name, or by 1-based position in the file (how a Slurm array task picks its one)."""
        if not only:
            return list(self.members)
        chosen: list[Member] = []
        names = {m.name: m for m in self.members}
        for ref in only:
            if ref in names:
                m = names[ref]
            elif ref.isdigit() and 1 <= int(ref) <= len(self.members):
                m = self.members[int(ref) - 1]
            else:
                hint = difflib.get_close_matches(ref, list(names), n=1)
                extra = f" (did you mean {hint[0]!r}?)" if hint else ""
                choose = f"choose from {', '.join(names)} or 1..{len(names)}"
                raise StudyError("", f"study {self.name!r} has no run {ref!r}{extra}: {choose}")
            if m not in chosen:
                chosen.append(m)
        return chosen


def load_study(path: str | Path) -> Study:
    """Read and check a study file; StudyError names the first bad key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        shipped = EXAMPLES / path.name
        hint = f" (the example of that name is installed as {shipped})" if shipped.is_file() else ""
        raise StudyError("", f"no study file {path}{hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyError("", f"cannot read {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyError("", f"{path} is not valid TOML: {exc}") from None
    return parse_study(data, path)


def parse_study(data: dict[str, Any], path: Path) -> Study:
    _known(data, TOP_KEYS, "")
    head = _table(data, "study", required=True)
    _known(head, STUDY_KEYS, "study")
    name = head.get("name")
    if not isinstance(name, str) or not name:
        raise StudyError("study.name", 'give the study a name, e.g. name = "coursework"')
    _check_name(name, "study.name")
    defaults_table, default_seeds = _seeds(_table(data, "defaults"), "defaults")
    defaults = _options(defaults_table, "defaults")
    runs = _table(data, "runs")
    grid = _table(data, "grid")
    report = _table(data, "report")
    _known(report, REPORT_KEYS, "report")
    members: list[Member] = []
    for member, table in runs.items():
        if not isinstance(table, dict):
            raise StudyError(f"runs.{member}", "must be a table: [runs.NAME] followed by its options")
        table, own_seeds = _seeds(table, f"runs.{member}")
        own = _options(table, f"runs.{member}")
        members += _seeded(name, member, defaults, own, own_seeds, default_seeds, f"runs.{member}")
    for combo in gridlib.expand(_grid(grid)):
        members += _seeded(name, gridlib.member_name(combo), defaults, combo, None, default_seeds, "grid")
    search = None
    if "search" in data:
        from diffdash.study.search_spec import parse_search

        search = parse_search(data, name, defaults, default_seeds)
    elif not members:
        raise StudyError("runs", "the study has no runs: add [runs.NAME] tables or a [grid]")
    seen: dict[str, str] = {}
    from diffdash.study.paths import check_output_paths

    for m in members:
        if m.name in seen:
            raise StudyError(m.origin.get("", "runs"), f"two runs are named {m.name!r}: names must differ")
        seen[m.name] = m.name
        if outside := check_output_paths(m.options, m.origin):
            raise StudyError(*outside)
    epochs = report.get("epochs")
    if epochs is not None and (
        not isinstance(epochs, list) or not epochs or not all(isinstance(e, int) and e >= 1 for e in epochs)
    ):
        raise StudyError("report.epochs", f"must be a list of epochs like [1, 25, 50], got {epochs!r}")
    description = head.get("description", "")
    if not isinstance(description, str):
        raise StudyError("study.description", "must be text")
    study = Study(name, path, members, description, sorted(set(epochs)) if epochs else None, search)
    study.cluster = _cluster_tables(data)
    return study


def _cluster_tables(data: dict[str, Any]) -> dict[str, Any]:
    from diffdash.study.executors.tables import TableError, check_table

    try:
        return {kind: check_table(kind, _table(data, kind)) for kind in ("slurm", "ray") if kind in data}
    except TableError as exc:
        raise StudyError(exc.key, str(exc).removeprefix(f"{exc.key}: ")) from None


def _seeds(table: dict[str, Any], where: str) -> tuple[dict[str, Any], list[int] | None]:
    from diffdash.study import seeds

    try:
        rest, chosen = seeds.take(table, where)
    except seeds.SeedsError as exc:
        raise StudyError(exc.key, str(exc)) from None
    if chosen is not None and "seed" in rest:
        raise StudyError(f"{where}.seeds", "give either seed or seeds, not both")
    return rest, chosen


def _seeded(study: str, name: str, defaults: dict[str, Any], own: dict[str, Any], own_seeds, default_seeds, where: str):
    """The member, or one member per seed (grouped under its name) when it or [defaults] asks for seeds."""
    from diffdash.study import seeds

    try:
        expanded = seeds.expand(name, own, own_seeds, default_seeds, where)
    except seeds.SeedsError as exc:
        raise StudyError(exc.key, str(exc)) from None
    out = []
    for member_name, options, group in expanded:
        member = _member(study, member_name, defaults, options, where)
        member.group = group
        out.append(member)
    return out


def _table(data: dict[str, Any], key: str, required: bool = False) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise StudyError(key, f"the file needs a [{key}] table with at least a name")
        return {}
    if not isinstance(value, dict):
        raise StudyError(key, f"must be a table ([{key}]), got {type(value).__name__}")
    return value


def _known(table: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise StudyError(f"{where}.{key}" if where else key, f"unknown key{extra}: allowed {', '.join(allowed)}")


def _check_name(name: str, key: str) -> None:
    from diffdash.options.run_config import NAME_RE

    if not NAME_RE.match(name) or ".." in name or name.isdigit():
        raise StudyError(key, f"{name!r} is not a usable name: letters, digits, '.', '_' or '-', and a letter")


def _grid(grid: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for key, values in grid.items():
        where = f"grid.{key}"
        if not isinstance(values, list) or not values:
            raise StudyError(where, f"a grid key takes a list of values, e.g. {key} = [1, 2], got {values!r}")
        normal = _option_key(key, where)
        for v in values:
            _options({key: v}, "grid")
        out[normal] = values
    return out


def _options(table: dict[str, Any], where: str) -> dict[str, Any]:
    """Option keys normalised to underscores and checked against `new`'s options."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            raise StudyError(
                f"{where}.{key}",
                'an option takes a value, not a table (quote a run name that has a dot: [runs."cold-s0.1"])',
            )
        normal = _option_key(key, f"{where}.{key}")
        out[normal] = value
    return out


def _option_key(key: str, where: str) -> str:
    normal = key.replace("-", "_")
    options = study_options()
    if normal in RESERVED:
        raise StudyError(where, f"not allowed in a study: {RESERVED[normal]}")
    if normal not in options:
        hint = difflib.get_close_matches(normal, list(options), n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise StudyError(where, f"unknown option{extra}: any option of `diffdash new` is allowed")
    return normal


def _member(study: str, name: str, defaults: dict[str, Any], own: dict[str, Any], where: str) -> Member:
    _check_name(name, where)
    run_id = f"{study}-{name}"
    from diffdash.options.run_config import check_name

    try:
        check_name(run_id)
    except ConfigError:
        raise StudyError(where, f"the run name {run_id!r} is too long (80 characters at most)") from None
    options = {**defaults, **own}
    origin = {k: f"defaults.{k}" for k in defaults}
    origin.update({k: (f"grid.{k}" if where == "grid" else f"{where}.{k}") for k in own})
    origin[""] = where
    argv: list[str] = []
    known = study_options()
    for key, value in options.items():
        try:
            argv += member_options.option_argv(known[key], value)
        except member_options.OptionError as exc:
            raise StudyError(origin[key], str(exc)) from None
    member = Member(name, run_id, options, origin, argv)
    member.params = resolve(member)
    return member


def resolve(member: Member) -> dict[str, Any]:
    """Every option of `new` as it would resolve them for this member, checked as `new` checks them (through
    the option table: study/member_options.py); StudyError names the key in the file."""

    def where(param: str) -> str:
        key = param.replace("-", "_")
        for k in member.options:
            if k.lower() == key.lower():
                return member.origin[k]
        return member.origin[""]

    try:
        return member_options.resolve(member.options, member.run_id)
    except (member_options.OptionError, ConfigError) as exc:
        raise StudyError(where(exc.param), str(exc)) from None
