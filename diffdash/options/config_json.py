"""A run's config.json read back: its values' types checked before they become a RunConfig.

Torch-free, for listings and views as well as commands: a mistyped config.json (`"n_hidden": "abc"`) is
reported as damaged with the field it concerns, never drawn as data or left to fail deep inside torch.
"""

from __future__ import annotations

from dataclasses import fields

from diffdash.options.run_config import ConfigError, RunConfig

_TYPES: dict[str, tuple] = {  # annotation -> (type of the value, type of each item or None)
    "int": (int, None),
    "float": ((int, float), None),
    "str": (str, None),
    "bool": (bool, None),
    "list[int]": (list, int),
    "list[float]": (list, (int, float)),
}
_JSON_TYPES = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "an object",
}


def config_problem(data: object) -> str | None:
    """Why `data` (a parsed config.json) cannot be a RunConfig because of a value's type, else None."""
    if not isinstance(data, dict):
        return "config.json is not a JSON object"
    for f in fields(RunConfig):
        if f.name in data and not _fits(data[f.name], str(f.type)):
            value = data[f.name]
            return f"config.json: {f.name} is {json_type(value)} ({_short(value)}), not {f.type}"
    return None


def load_config(data: object) -> RunConfig:
    """A validated RunConfig from a config.json's contents; ConfigError (param 'config') naming the problem."""
    problem = config_problem(data)
    if problem:
        raise ConfigError("config", problem)
    assert isinstance(data, dict)
    try:
        return RunConfig.from_dict(data).validate()
    except ConfigError as exc:
        raise ConfigError("config", f"config.json: {exc}") from None


def _fits(value: object, kind: str) -> bool:
    """Whether `value` matches the annotation `kind` ("int", "list[int]", "str | None", ...); a kind this
    does not know passes. A str field also takes a number (older configs wrote some options as numbers)."""
    for alternative in (k.strip() for k in kind.split("|")):
        if alternative == "None":
            if value is None:
                return True
            continue
        expected = _TYPES.get(alternative)
        if expected is None:
            return True
        outer, inner = expected
        if outer is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        plain = isinstance(value, outer) and (outer is bool or not isinstance(value, bool))
        if plain and (inner is None or all(isinstance(v, inner) and not isinstance(v, bool) for v in value)):
            return True
    return False


def json_type(value: object) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
