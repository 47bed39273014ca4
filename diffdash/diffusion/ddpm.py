"""DDPM as in the coursework starter: predict the noise with a named beta schedule; samplers in samplers/."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from diffdash.diffusion.base import Process, StopCheck, check_stop, seeded_normal
from diffdash.diffusion.guided import guided
from diffdash.diffusion.samplers import DEFAULT_SAMPLER, names, sampler_class
from diffdash.diffusion.schedules import beta_schedule

IMAGE_SHAPE = (1, 28, 28)


class DDPM(Process):
    name = "ddpm"
    samplers = names("ddpm")

    def __init__(
        self,
        betas: tuple[float, float] = (1e-4, 0.02),
        n_T: int = 1000,
        device: str = "cpu",
        schedule: str = "linear",
        cond_drop: float = 0.0,
        null_label: int | None = None,
    ):
        """`cond_drop`, `null_label`: for a class-conditional network, the share of training labels replaced by
        `null_label` (the learned "no label" the guided samplers ask for)."""
        self.n_T = n_T
        self.cond_drop, self.null_label = cond_drop, null_label
        self.device = torch.device(device)
        self.beta_t = beta_schedule(schedule, n_T, betas).to(self.device)  # index 0..n_T
        self.alpha_t = torch.exp(torch.cumsum(torch.log(1 - self.beta_t), dim=0))  # alpha_bar

    def noised(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        a = self.alpha_t[t, None, None, None]
        return torch.sqrt(a) * x0 + torch.sqrt(1 - a) * eps

    def loss(
        self,
        net: nn.Module,
        x0: torch.Tensor,
        generator: torch.Generator,
        rows: slice | None = None,
        y: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`y`: the digits' labels, for a class-conditional network; a `cond_drop` share of them (drawn after
        t and the noise, so an unconditional run's draws are unchanged) become the "no label" entry."""
        t = torch.randint(1, self.n_T, (x0.shape[0],), device=x0.device, generator=generator)
        eps = torch.randn(x0.shape, device=x0.device, generator=generator)
        if y is not None:
            y = self.dropped_labels(y, generator)
        if rows is not None:
            x0, t, eps = x0[rows], t[rows], eps[rows]
            y = y[rows] if y is not None else None
        z_t = self.noised(x0, t, eps)
        out = net(z_t, t / self.n_T) if y is None else net(z_t, t / self.n_T, y)
        return F.mse_loss(out, eps)

    def dropped_labels(self, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.null_label is None:
            raise ValueError("labels given to a DDPM built without a null label (--cond class builds one)")
        drop = torch.rand(y.shape, device=y.device, generator=generator) < self.cond_drop
        return torch.where(drop, torch.full_like(y, self.null_label), y)

    @torch.no_grad()
    def sample(
        self,
        net: nn.Module,
        n: int,
        *,
        sampler: str = DEFAULT_SAMPLER["ddpm"],
        steps: int | None = None,
        seed: int = 0,
        should_stop: StopCheck | None = None,
        labels: torch.Tensor | None = None,
        guidance: float = 0.0,
    ) -> torch.Tensor:
        """From seeded noise at n_T, one network pass per timestep of the sampler. `labels` (n,): the digits
        to draw, for a class-conditional network, with classifier-free guidance `guidance` (guided.py)."""
        walker = sampler_class(self.name, sampler)(self, steps, seed)
        x = seeded_normal((n, *IMAGE_SHAPE), seed, self.device)
        ones = torch.ones(n, device=x.device)
        predict = net if labels is None else guided(net, labels.to(x.device), self.null_label, guidance)
        for t in walker.timesteps:
            check_stop(should_stop)
            x = walker.step(predict(x, (t / self.n_T) * ones), t, x)
        return x
