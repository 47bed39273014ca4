"""Option values from text and their checks, shared by the option table, `rename` and the commands.

Each raises `ConfigError` naming the option (`param`) with a message that says what would be right.
"""

from __future__ import annotations

import math
import re

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1  # torch seeds are 64-bit; offsets added to a seed stay in range
_DURATION_TERM = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(s|sec|m|min|h|d)")
_UNIT_SECONDS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


class ConfigError(ValueError):
    """A bad value in a config; `param` names the option it came from."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


def parse_int_list(text: str, what: str = "n-hidden") -> list[int]:
    """'16,32,64' -> [16, 32, 64], with a message that names the bad entry."""
    param = what.replace("-", "_")
    if not text or not text.strip():
        raise ConfigError(param, f"{what} is empty: give channel counts like 16,32,32,16")
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ConfigError(param, f"{what} {text!r} has an empty entry: give channel counts like 16,32,32,16")
        try:
            out.append(int(part))
        except ValueError:
            raise ConfigError(param, f"{what} entry {part!r} is not a whole number: give e.g. 16,32,32,16") from None
    return check_n_hidden(out, what)


def check_n_hidden(values: list[int], what: str = "n-hidden") -> list[int]:
    param = what.replace("-", "_")
    if not values:
        raise ConfigError(param, f"{what} is empty: give channel counts like 16,32,32,16")
    for v in values:
        if int(v) < 1:
            raise ConfigError(param, f"{what} entry {v} must be a positive channel count (e.g. 16,32,32,16)")
    return [int(v) for v in values]


def parse_betas(text: str) -> list[float]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise ConfigError("betas", f"betas {text!r} must be two numbers 'beta1,beta2', e.g. 1e-4,0.02")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ConfigError("betas", f"betas {text!r} must be two numbers 'beta1,beta2', e.g. 1e-4,0.02") from None
    b1, b2 = check_betas(values)
    return [b1, b2]


def check_betas(values: list[float]) -> tuple[float, float]:
    b1, b2 = float(values[0]), float(values[1])
    if not (0 < b1 < b2 < 1):
        raise ConfigError("betas", f"betas {b1:g},{b2:g} must satisfy 0 < beta1 < beta2 < 1 (e.g. 1e-4,0.02)")
    return b1, b2


def check_name(name: str) -> str:
    """The one rule for run names, of `new --name` and `rename` alike."""
    if "/" in name or "\\" in name or ".." in name or not NAME_RE.match(name):
        raise ConfigError(
            "name",
            f"run name {name!r} is not allowed: use letters, digits, '.', '_' or '-' "
            "(no '/', no '..', at most 80 characters)",
        )
    if name.isdigit() or name == "latest":
        raise ConfigError("name", f"run name {name!r} would read as a run index or 'latest': include a letter")
    return name


def check_seed(value: int, param: str = "seed") -> int:
    """Seeds fit in 64 bits (torch's limit), so a huge one is a clear error, not an OverflowError later."""
    if isinstance(value, bool) or not isinstance(value, int) or not SEED_MIN <= value <= SEED_MAX:
        shown = param.replace("_", "-")
        raise ConfigError(param, f"{shown} must be a whole number from {SEED_MIN} to {SEED_MAX} (64 bits), got {value}")
    return value


def check_finite(value: float, param: str) -> float:
    if not math.isfinite(value):
        raise ConfigError(param, f"{param.replace('_', '-')} must be a finite number, got {value}")
    return value


def parse_duration(text: str | float, param: str = "max_time") -> float:
    """'30m', '1h', '1h30m', '90s', '2.5h' or a number of seconds -> seconds (above 0)."""
    shown = param.replace("_", "-")
    example = f"{shown} {str(text)!r} is not a duration: give e.g. 90s, 30m, 1h or 1h30m"
    if isinstance(text, bool):
        raise ConfigError(param, example)
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        compact = str(text).strip().lower().replace(" ", "")
        try:
            seconds = float(compact)
        except ValueError:
            terms = _DURATION_TERM.findall(compact)
            if not terms or "".join(a + b for a, b in terms) != compact:
                raise ConfigError(param, example) from None
            seconds = sum(float(value) * _UNIT_SECONDS[unit] for value, unit in terms)
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(param, f"{shown} must be a positive duration (e.g. 30m), got {text!r}")
    return seconds


def message(check, *args) -> str | None:
    """A check that raises ConfigError, as the option table's `check`: its message, or None when fine."""
    try:
        check(*args)
    except ConfigError as exc:
        return str(exc)
    except (TypeError, ValueError):
        return f"{args[0]!r} is not a value this option takes"
    return None
