"""Diffusion processes: a schedule or degradation plus a loss and samplers over one network."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from diffdash.diffusion.base import Process
    from diffdash.options.run_config import RunConfig


def build_process(config: RunConfig, device: str) -> Process:
    if config.model == "ddpm":
        from diffdash.diffusion.ddpm import DDPM

        cond = {}
        if getattr(config, "cond", "none") == "class":
            from diffdash.options.cond_options import NUM_CLASSES

            cond = {"cond_drop": config.cond_drop, "null_label": NUM_CLASSES}
        return DDPM(
            betas=(config.betas[0], config.betas[1]), n_T=config.n_T, device=device, schedule=config.schedule, **cond
        )
    if config.model == "cold":
        from diffdash.diffusion.cold import ColdDiffusion

        return ColdDiffusion(config, device)
    raise ValueError(f"unknown model {config.model!r}")


def samplers_for(model: str) -> tuple[str, ...]:
    """The sampler names of a model, from the one registry (diffusion/samplers); torch-free."""
    from diffdash.diffusion.samplers import names

    return names(model)
