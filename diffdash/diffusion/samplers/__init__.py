"""Samplers the diffusers way: each is one small object (its timesteps and one step) in its own module.

The names below are the only place a sampler's name is spelled: config validation, the `new`,
`sample` and `eval` options, evaluation and previews all read them from here. This module imports
nothing heavy, so validating a config stays torch-free. Adding a sampler: one module in this package
defining a `Sampler` subclass, its line here, and its test.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffdash.diffusion.samplers.base import Sampler

# process -> {sampler name: "module:Class"}, in the order users see them; the first marked default is
# what previews use when --sampler is not given.
SAMPLERS: dict[str, dict[str, str]] = {
    "ddpm": {
        "ancestral": "ancestral:Ancestral",
        "ddim": "ddim:DDIM",
        "dpm++2m": "dpm_solver:DPMSolver2M",
    },
    "cold": {
        "direct": "cold_restore:Direct",
        "alg1": "cold_restore:Algorithm1",
        "alg2": "cold_restore:Algorithm2",
    },
}
DEFAULT_SAMPLER = {"ddpm": "ddim", "cold": "alg2"}


def names(process: str) -> tuple[str, ...]:
    """The samplers of a process ("ddpm", "cold"), in the order users see them; () for an unknown one."""
    return tuple(SAMPLERS.get(process, {}))


def all_names() -> tuple[str, ...]:
    return tuple(name for table in SAMPLERS.values() for name in table)


def sampler_class(process: str, name: str) -> type[Sampler]:
    """The class behind a name; ValueError naming the choices for an unknown one."""
    table = SAMPLERS.get(process, {})
    if name not in table:
        raise ValueError(f"unknown sampler {name!r} for {process}: choose one of {', '.join(table)}")
    module, cls = table[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def passes(process: str, name: str, steps: int | None, n_T: int) -> int:
    """Network evaluations per sample: what evaluation events record as `steps`."""
    return sampler_class(process, name).passes(steps, n_T)
