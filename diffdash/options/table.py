"""The option table: every run option declared once, in config.json's order (import from here).

`OPTIONS` is the run's general options (options/run_options.py) with each network's own after `net` (declared
in its module under diffdash/models, gathered through the networks' torch-free registry), then class
conditioning (options/cond_options.py), and the cold-diffusion ones (options/cold_options.py) at the end.
`RunConfig`'s fields, its checks, `diffdash new`'s flags and --help sections, study files and shell
completion are all read from here.
Torch- and Click-free: `--help` and validation stay instant.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from diffdash.models import DEFAULT_NETWORK, network_defaults, network_options
from diffdash.options.cold_options import OPTIONS as COLD_OPTIONS
from diffdash.options.cond_options import OPTIONS as COND_OPTIONS
from diffdash.options.option import COLD_SECTION, DEFAULT_SECTION, Option
from diffdash.options.run_options import BODY, HEAD, QUALITY
from diffdash.options.values import ConfigError


def _with_network_defaults(options: tuple[Option, ...]) -> tuple[Option, ...]:
    """The general options with the defaults networks declare for them (a network's `DEFAULTS`, e.g. the U-Net's
    lr) as `by_net`."""
    declared = network_defaults()
    if unknown := set(declared) - {o.name for o in options}:
        raise ValueError(f"a network's DEFAULTS names no option: {', '.join(sorted(unknown))}")
    return tuple(replace(o, by_net=declared[o.name]) if o.name in declared else o for o in options)


OPTIONS: tuple[Option, ...] = _with_network_defaults((*HEAD, *network_options(), *COND_OPTIONS, *BODY, *COLD_OPTIONS))
BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}
SECTIONS = (DEFAULT_SECTION, *dict.fromkeys(o.help_section for o in OPTIONS if o.help_section != DEFAULT_SECTION))

__all__ = ["BY_NAME", "COLD_SECTION", "OPTIONS", "QUALITY", "SECTIONS", "ConfigError", "Option", "from_text"]


def from_text(values: dict[str, Any]) -> dict[str, Any]:
    """Command-line values (lists as '16,32' text, model- or network-dependent defaults as None) -> RunConfig
    keywords.

    What `diffdash new` and study files both build their configs from; ConfigError names a bad entry."""
    kw = dict(values)
    model, net = kw.get("model") or "ddpm", kw.get("net") or DEFAULT_NETWORK
    for name, value in values.items():
        option = BY_NAME.get(name)
        if option is None:
            continue
        if value is None and option.varies:
            kw[name] = option.default_for(model, net)
        elif isinstance(value, str) and option.parse is not None:
            kw[name] = option.parse(value)
    return kw
