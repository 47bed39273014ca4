"""The study file's `[slurm]` and `[ray]` tables (and `--slurm KEY=VALUE`): which keys exist and what they take,
checked when the file is read so a typo fails before anything is submitted."""

from __future__ import annotations

import difflib
import re
from typing import Any

SLURM_KEYS = {
    "partition": 'a partition name, e.g. "gpu"',
    "time": 'a time limit per job: minutes or "HH:MM:SS" / "D-HH:MM:SS"',
    "cpus": "CPUs per job (default: the member's threads, else 1)",
    "gpus_per_task": "GPUs per job, e.g. 1",
    "mem": 'memory per job, e.g. "8G"',
    "account": "the account to charge",
    "extra": 'more sbatch options, e.g. ["--qos=high", "--constraint=a100"]',
}
RAY_KEYS = {
    "address": 'the cluster, "auto" or HOST:PORT (--ray-address wins)',
    "num_cpus": "CPUs per member (default: the member's threads, else 1)",
    "num_gpus": "GPUs per member, e.g. 1",
    "max_retries": "how often a member lost with its node is retried elsewhere (default 3)",
}
TABLES = {"slurm": SLURM_KEYS, "ray": RAY_KEYS}
TIME_RE = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


class TableError(ValueError):
    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


def check_table(kind: str, table: dict[str, Any]) -> dict[str, Any]:
    """The table with its keys normalised to underscores and its values checked; TableError names the key."""
    allowed = TABLES[kind]
    out: dict[str, Any] = {}
    for key, value in table.items():
        normal = key.replace("-", "_")
        where = f"{kind}.{key}"
        if normal not in allowed:
            hint = difflib.get_close_matches(normal, list(allowed), n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise TableError(where, f"unknown key{extra}: allowed {', '.join(allowed)}")
        out[normal] = _check_value(kind, normal, value, where)
    return out


def _check_value(kind: str, key: str, value: Any, where: str) -> Any:
    want = TABLES[kind][key]
    if key in ("cpus", "gpus_per_task", "num_cpus", "num_gpus", "max_retries"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        if key in ("cpus", "gpus_per_task", "max_retries") and not isinstance(value, int):
            ok = False
        if not ok:
            raise TableError(where, f"takes {want}, got {value!r}")
        return value
    if key == "time":
        if (isinstance(value, int) and not isinstance(value, bool) and value > 0) or (
            isinstance(value, str) and time_minutes(value) is not None
        ):
            return value
        raise TableError(where, f"takes {want}, got {value!r}")
    if key == "extra":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip().startswith("-") for v in value):
            raise TableError(where, f"takes {want}, got {value!r}")
        return [v.strip() for v in value]
    if not isinstance(value, str) or not value:
        raise TableError(where, f"takes {want}, got {value!r}")
    return value


def time_minutes(value: int | str) -> int | None:
    """Slurm's time formats as whole minutes (at least 1); None when it is not one."""
    if isinstance(value, int):
        return value
    m = TIME_RE.match(value.strip())
    if not m:
        return None
    days, a, b, c = (int(x) if x else None for x in m.groups())
    if b is None and c is None:  # "MM" or "D-HH"
        minutes = a * 60 if days is not None else a
    elif c is None:  # "MM:SS" or "D-HH:MM"
        minutes = a * 60 + b if days is not None else a + (1 if b else 0)
    else:  # "HH:MM:SS"
        minutes = a * 60 + b + (1 if c else 0)
    return max(1, minutes + (days or 0) * 24 * 60)


def parse_pairs(pairs: tuple[str, ...], kind: str) -> dict[str, Any]:
    """`--slurm partition=gpu --slurm cpus=4` as a table (numbers read as numbers, `extra` repeatable)."""
    table: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise TableError(f"--{kind}", f"takes KEY=VALUE (e.g. partition=gpu), got {pair!r}")
        key = key.strip().replace("-", "_")
        parsed: Any = int(value) if value.isdigit() else value
        if key == "extra":
            table.setdefault("extra", []).append(value)
        else:
            table[key] = parsed
    return check_table(kind, table)


def sbatch_options(lines: list[str]) -> dict[str, Any]:
    """`--qos=high`, `--exclusive`, `#SBATCH --constraint a100` as submitit's additional_parameters."""
    out: dict[str, Any] = {}
    for line in lines:
        text = line.removeprefix("#SBATCH").strip().lstrip("-")
        key, _, value = text.replace(" ", "=", 1).partition("=")
        out[key.replace("-", "_")] = value.strip() if value.strip() else True
    return out
