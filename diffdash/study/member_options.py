"""A study member's options, read from the option table (diffdash/options) as `diffdash new` reads them.

Which keys a study file may set (every option of `new` but those the study sets itself), each as `new`
arguments (the member's command line), and their values converted and validated as `new` converts and
validates them: the table's types and ranges, then `RunConfig`'s checks. So a study file accepts exactly what
the command line accepts, without the study going through the command (study/ never imports commands/).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from diffdash.options.launch_options import LAUNCH, LAUNCH_BY_NAME
from diffdash.options.option import Option
from diffdash.options.table import OPTIONS, ConfigError, from_text

# options of `new` a study sets itself
RESERVED = {
    "name": "the study names each run <study>-<member>",
    "runs_dir": "give --runs-dir to `diffdash study run`",
    "headless": "the study's runs are always headless",
    "image_mode": "the study's runs draw nothing",
    "study": "the study tags its runs itself",
    "trial": "a search numbers its trials itself",
    "prepare": "the study trains its runs (`diffdash new --prepare` prepares one run by hand)",
}
NUMBERS: dict[str, tuple[Callable[[str], Any], str]] = {
    "int": (int, "integer"),
    "int | None": (int, "integer"),
    "float": (float, "float"),
    "float | None": (float, "float"),
}


class OptionError(ValueError):
    """A bad option value; `param` names the option (as ConfigError does)."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param


def study_options() -> dict[str, Option]:
    """The options a study file may set, by name (n_T, n_hidden, nproc, ...): `new`'s flags less RESERVED."""
    return {o.name: o for o in (*OPTIONS, *LAUNCH) if o.cli and o.name not in RESERVED}


def as_text(option: Option, value: Any) -> str | None:
    """A study file's value as `new`'s argument text ('16,32,32,16' for a list); None for a flag.

    OptionError when the value has the wrong shape for the option (a flag not true/false, a table, ...)."""
    if option.is_flag:
        if not isinstance(value, bool):
            raise OptionError(option.name, f"takes true or false, got {value!r}")
        return None
    if isinstance(value, bool):
        example = option.default if option.varies else option.cli_default()
        raise OptionError(option.name, f"takes a value like {example!r}, got {str(value).lower()}")
    if isinstance(value, list):
        if not value or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise OptionError(option.name, f"a list here must hold numbers, e.g. [16, 32, 32, 16], got {value!r}")
        return ",".join(str(v) for v in value)
    if isinstance(value, (int, float, str)):
        return str(value)
    raise OptionError(option.name, f"takes a number or text, got {type(value).__name__}")


def option_argv(option: Option, value: Any) -> list[str]:
    """One option as `diffdash new` arguments: lists become 16,32,32,16; a flag is present when true."""
    text = as_text(option, value)
    if text is None:
        return [option.flag] if value else []
    return [option.flag, text]


def convert(option: Option, value: Any) -> Any:
    """The value `new`'s flag would give for this study value: numbers parsed, ranges and the launch options'
    own checks applied (RunConfig's checks come after, in `resolve`)."""
    text = as_text(option, value)
    if text is None:
        return bool(value)
    out: Any = text
    if option.type in NUMBERS:
        kind, word = NUMBERS[option.type]
        try:
            out = kind(text)
        except ValueError:
            raise OptionError(option.name, f"{text!r} is not a valid {word}.") from None
    if option.bounds is not None:
        low, high = option.bounds
        if out < low or (high is not None and out > high):
            span = f"{low}<=x<={high}" if high is not None else f"x>={low}"
            raise OptionError(option.name, f"{out} is not in the range {span}.")
    problem = option.check(out) if option.check is not None and option.name in LAUNCH_BY_NAME else None
    if problem:  # a launch option's own check (RunConfig's checks follow for the others)
        raise OptionError(option.name, problem)
    return out


def resolve(options: dict[str, Any], run_name: str) -> dict[str, Any]:
    """Every option a study may set, as `new` would resolve them for a member with these `options` (study-file
    keys with underscores), validated by `RunConfig` as `new` validates them. OptionError or ConfigError
    (`param` names the option) for the first bad one."""
    known = study_options()
    params = {name: option.cli_default() for name, option in known.items()}
    params.update({key: convert(known[key], value) for key, value in options.items()})
    from diffdash.options.run_config import RunConfig

    fields = set(RunConfig.__dataclass_fields__)
    config = RunConfig(**from_text({**{k: v for k, v in params.items() if k in fields}, "name": run_name}))
    config.validate()
    if config.compile:
        check_compile(config.device)
    return params


def check_compile(device: str) -> None:
    """compile = true where torch.compile cannot work (no C++ compiler, no Triton, MPS), as `new --compile`."""
    from diffdash.machine.devices import DeviceError, resolve_device
    from diffdash.training.compiled import compile_problem

    try:
        problem = compile_problem(resolve_device(device))
    except DeviceError:
        return  # the run names the device problem when it starts
    if problem:
        raise ConfigError("compile", problem)
