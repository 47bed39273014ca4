"""One run option, declared once: its config field, flag, type, default, allowed values, help and check.

`RunConfig`'s fields, `diffdash new`'s flags (commands/new_options.py), `--help`'s sections, study-file
validation and shell completion are all read from these declarations. Torch- and Click-free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

COLD_SCOPES = ("cold", "blur", "mask", "pixelate", "fade")  # a degradation's options apply to cold runs
DEFAULT_SECTION = "Options"
COLD_SECTION = "Cold diffusion only (--model cold)"


@dataclass(frozen=True)
class Option:
    name: str  # the RunConfig field; the flag is --name-with-dashes
    type: str  # the field's annotation ("int", "list[int]", "str | None"), as config_file checks config.json
    default: Any
    help: str
    applies_to: str = ""  # "": every run; "cold" or a degradation: cold runs; "net:NAME": that network's runs;
    # "cond": class-conditional runs (--cond class)
    choices: tuple | Callable[[], tuple] = ()  # allowed values: "unknown <what> 'x': choose one of ..."
    what: str = ""
    valid: Callable[[Any, Any], bool] | None = None  # (value, config) -> fine?; else `rule` is the message
    rule: str = ""  # formatted with {value}, {n_T} and {flag}
    check: Callable[[Any], str | None] | None = None  # value -> why it is wrong, else None
    section: str = ""  # --help's group; default: from applies_to
    parse: Callable[[str], Any] | None = None  # command-line text -> value (lists: "16,32" -> [16, 32])
    by_model: dict[str, Any] = field(default_factory=dict)  # a default that depends on --model
    by_net: dict[str, Any] = field(default_factory=dict)  # a default that depends on --net (a network's DEFAULTS)
    bounds: tuple[int, int | None] | None = None  # a whole number's range (None: no top), checked on the command line
    cli: bool = True  # a flag of `diffdash new` (False: set by the tool, e.g. --study's tag is its own flag)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def is_flag(self) -> bool:
        return self.type == "bool"

    @property
    def network(self) -> str | None:
        """The network whose option this is (applies_to 'net:unet' -> 'unet'), else None."""
        return self.applies_to[4:] if self.applies_to.startswith("net:") else None

    @property
    def help_section(self) -> str:
        if self.section:
            return self.section
        if self.applies_to in COLD_SCOPES:
            return COLD_SECTION
        if self.network:
            return f"Network {self.network} only (--net {self.network})"
        return DEFAULT_SECTION

    def applies(self, config: Any) -> bool:
        """Whether the option means anything for `config` (what config.json keeps and validate checks)."""
        if self.network:
            return getattr(config, "net", "cnn") == self.network
        if self.applies_to == "cond":
            return getattr(config, "cond", "none") != "none"
        if self.applies_to in COLD_SCOPES:
            return getattr(config, "model", "ddpm") == "cold"
        return True

    def allowed(self) -> tuple:
        return self.choices() if callable(self.choices) else self.choices

    @property
    def varies(self) -> bool:
        """Whether the default depends on --model or --net (the flag's default is then None, resolved later)."""
        return bool(self.by_model or self.by_net)

    def default_for(self, model: str, net: str) -> Any:
        """The default of a run of this model and network: the network's own, else the model's, else the one."""
        return self.by_net.get(net, self.by_model.get(model, self.default))

    def cli_default(self) -> Any:
        """The flag's default: None where it depends on --model or --net, the text form of a list."""
        if self.varies:
            return None
        if isinstance(self.default, list):
            return ",".join(str(v) for v in self.default)
        return self.default

    def default_text(self) -> str:
        """'ddpm 1000, cold 20' for a default per model, '0.0002; --net unet 0.001' for one a network sets, else the
        flag's default as --help shows it."""
        per_model = ", ".join(f"{model} {value}" for model, value in self.by_model.items())
        if self.by_net:  # a network's own default comes before the model's (default_for)
            return "; ".join((per_model or str(self.default), *(f"--net {n} {v}" for n, v in self.by_net.items())))
        if per_model:
            return per_model
        return "" if self.cli_default() is None else str(self.cli_default())

    def problem(self, value: Any, config: Any) -> str | None:
        """Why `value` is not allowed (one line naming the option and the fix), else None."""
        allowed = self.allowed()
        if allowed and value not in allowed:
            return f"unknown {self.what or self.name} {value!r}: choose one of {', '.join(map(str, allowed))}"
        if self.check is not None:
            found = self.check(value)
            if found:
                return found
        if self.valid is not None and not self.valid(value, config):
            return self.rule.format(value=value, n_T=getattr(config, "n_T", None), flag=self.flag[2:])
        return None
