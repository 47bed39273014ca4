"""What a run's numbers and options mean for its kind of model: the loss it reports and the options it reads.

A DDPM run's loss is the MSE of the predicted noise ε; a cold-diffusion run's is the L1 (or L2) of the
restored digit x0. The two are different quantities, so views that put runs side by side label each run's
loss kind and never rank across kinds. Likewise a blur run ignores `mask_std`, a cold run ignores `schedule`:
a config diff shows an option only for the runs whose model reads it. Plain Python, no torch, no UI.
"""

from __future__ import annotations

from typing import Any

from diffdash.options.option import COLD_SCOPES
from diffdash.options.table import BY_NAME

# options only the DDPM process reads (its β schedule); a cold run's config.json still carries their defaults
DDPM_ONLY = ("schedule", "betas")
NOT_APPLICABLE = "n/a"


def loss_kind(config: dict[str, Any]) -> str:
    """A short name of what the run's loss measures: "MSE(ε)" (DDPM), "L1(x0)" or "MSE(x0)" (cold)."""
    if config.get("model") == "cold":
        return "MSE(x0)" if config.get("loss") == "l2" else "L1(x0)"
    return "MSE(ε)"


def loss_kind_long(config: dict[str, Any]) -> str:
    """The same in words, for figure axes and the compare warning."""
    if config.get("model") == "cold":
        what = "L2 (MSE)" if config.get("loss") == "l2" else "L1 (mean absolute error)"
        return f"{what} of the restored digit"
    return "MSE of predicted noise"


def loss_kinds_warning(labels: list[str], configs: list[dict[str, Any]]) -> str | None:
    """One line naming each run's loss kind when the runs mix kinds (None when they all report the same loss)."""
    kinds = [loss_kind(c) for c in configs]
    if len(set(kinds)) <= 1:
        return None
    groups: dict[str, list[str]] = {}
    for label, kind in zip(labels, kinds, strict=True):
        groups.setdefault(kind, []).append(label)
    parts = [f"{', '.join(names)} {kind}" for kind, names in groups.items()]
    return "losses differ: " + "; ".join(parts) + ": not comparable"


def key_applies(key: str, config: dict[str, Any]) -> bool:
    """Whether the run's model reads this (flattened) config key: no `mask_std` for a blur run, no `schedule`
    for a cold one. Keys diffdash does not know of apply to every run."""
    cold = config.get("model") == "cold"
    if key in DDPM_ONLY:
        return not cold
    declared = BY_NAME.get(key)
    scope = declared.applies_to if declared is not None else ""
    if scope.startswith("net:"):
        return (config.get("net") or "cnn") == scope[4:]
    if scope == "cond":
        return (config.get("cond") or "none") != "none"
    if scope not in COLD_SCOPES:
        return True
    return cold and scope in ("cold", config.get("degradation") or "blur")
