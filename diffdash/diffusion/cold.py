"""Cold diffusion (Bansal et al. 2022): restore a deterministic degradation D(x0, t) instead of noise.

The network R(x_t, t / n_T) predicts x0; the samplers (direct, Bansal's Algorithms 1 and 2) walk from a
start x_s down to t = 0 and live in diffusion/samplers/cold_restore.py.
Two starts: 'reconstruct' degrades held-out digits to n_T (what the coursework did) and 'generate'
draws x_{t*} from a prior fitted to degraded training digits (diffusion/cold_prior.py), so no real
digit is involved; optional small noise at each step (Rissanen et al. 2022) breaks ties further.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from diffdash.degradations import build_degradation
from diffdash.diffusion.base import Process, StopCheck, check_stop
from diffdash.diffusion.cold_prior import FIT_IMAGES, PRIOR_SEED, GaussianMixturePrior
from diffdash.diffusion.samplers import DEFAULT_SAMPLER, names, sampler_class
from diffdash.mnist.digits import DATA_HIGH, DATA_LOW

if TYPE_CHECKING:
    from diffdash.options.run_config import RunConfig

STARTS = ("generate", "reconstruct")
STRIP_FRAMES = 11
PRIOR_KEEP = 0.05


def auto_prior_t(degradation, images: torch.Tensor, keep: float = PRIOR_KEEP) -> int:
    """t* when --prior-t is not given: the most degraded level whose digits keep at least `keep` of the
    clean digits' shape variance (each image centred on its own mean brightness, which blur never removes;
    a binary search, the variance falls with t). Chosen by measurement, see README."""
    from diffdash.degradations.levels import shape_spread

    x = images[:256].float()
    params = degradation.generation_params(len(x))
    base = shape_spread(x)
    lo, hi = 1, degradation.n_T  # invariant: the answer lies in lo..hi; t = 1 is always allowed
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if shape_spread(degradation(x, mid, params)) >= keep * base:
            lo = mid
        else:
            hi = mid - 1
    return lo


class ColdDiffusion(Process):
    name = "cold"
    samplers = names("cold")
    needs_data = True

    def __init__(self, config: RunConfig, device: str | torch.device = "cpu"):
        self.config = config
        self.n_T = config.n_T
        self.device = torch.device(device)
        self.degradation = build_degradation(config, str(self.device))
        self.loss_kind = config.loss
        self.prior_t: int | None = config.prior_t  # None: chosen from the data when the prior is fitted
        self.gen_noise = float(config.gen_noise)
        self.train_x: torch.Tensor | None = None
        self.val_x: torch.Tensor | None = None
        self._prior: GaussianMixturePrior | None = None
        self._prior_t: int | None = None

    # ------------------------------------------------------------------ data and prior
    def attach_data(self, train_x: torch.Tensor, val_x: torch.Tensor) -> None:
        self.train_x, self.val_x = train_x, val_x

    def _digits(self, which: str) -> torch.Tensor:
        x = self.train_x if which == "train" else self.val_x
        if x is None:
            raise RuntimeError("cold diffusion samples from the run's digits: hand them over with attach_data first")
        return x

    def prior(self) -> GaussianMixturePrior:
        """Fitted once per t*, deterministically, from up to 10,000 training digits degraded to t*."""
        if self._prior is None or self._prior_t != self.prior_t:
            train_x = self._digits("train")
            g = torch.Generator().manual_seed(PRIOR_SEED)
            idx = torch.randperm(len(train_x), generator=g)[:FIT_IMAGES].to(train_x.device)
            if self.prior_t is None:
                self.prior_t = auto_prior_t(self.degradation, train_x[idx])
            chunks = []
            for part in train_x[idx].split(1000):
                params = self.degradation.generation_params(len(part))
                chunks.append(self.degradation(part.float(), self.prior_t, params).cpu())
            self._prior = GaussianMixturePrior(torch.cat(chunks), components=self.config.prior_components)
            self._prior_t = self.prior_t
        return self._prior

    # ------------------------------------------------------------------ training
    def loss(
        self, net: nn.Module, x0: torch.Tensor, generator: torch.Generator, rows: slice | None = None
    ) -> torch.Tensor:
        n = x0.shape[0]
        t = torch.randint(1, self.n_T + 1, (n,), device=x0.device, generator=generator)
        params = self.degradation.draw_params(n, generator)
        if rows is not None:
            x0, t, params = x0[rows], t[rows], params[rows] if params is not None else None
        x_t = self.degradation(x0, t, params)
        pred = net(x_t, t / self.n_T).float()
        if self.loss_kind == "l2":
            return F.mse_loss(pred, x0.float())
        return F.l1_loss(pred, x0.float())

    # ------------------------------------------------------------------ sampling
    def start_state(self, n: int, start: str, seed: int) -> tuple[torch.Tensor, int, torch.Tensor | None]:
        """(x_s, s, params): where a sampler begins."""
        if start == "generate":
            params = self.degradation.generation_params(n)
            prior = self.prior()
            return prior.sample(n, seed, self.device), int(self.prior_t), params
        if start == "reconstruct":
            val_x = self._digits("val")
            g = torch.Generator().manual_seed(seed)
            idx = torch.randperm(len(val_x), generator=g)[:n]
            while len(idx) < n:  # fewer held-out digits than asked for: reuse them
                idx = torch.cat([idx, idx])[:n]
            x0 = val_x[idx.to(val_x.device)].float().to(self.device)
            params = self.degradation.draw_params(n, torch.Generator(device=self.device).manual_seed(seed + 1))
            return self.degradation(x0, self.n_T, params), self.n_T, params
        raise ValueError(f"unknown start {start!r}: choose one of {', '.join(STARTS)}")

    def timesteps(self, s: int, steps: int | None) -> list[int]:
        """s, ..., 0: every step, or `steps` evenly spaced ones."""
        if steps is None or steps >= s:
            return list(range(s, -1, -1))
        ts = torch.linspace(s, 0, max(1, steps) + 1).round().long().tolist()
        return sorted(set(ts), reverse=True)

    @torch.no_grad()
    def restore(
        self,
        net: nn.Module,
        x: torch.Tensor,
        s: int,
        *,
        sampler: str,
        steps: int | None = None,
        params: torch.Tensor | None = None,
        noise: float = 0.0,
        seed: int = 0,
        should_stop: StopCheck | None = None,
        trajectory: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """x_s restored down to t = 0 by the named sampler (its steps in diffusion/samplers/cold_restore.py), with
        `noise` σ added after every step but the last; `trajectory` collects the state after each step."""
        walker = sampler_class(self.name, sampler)(self, steps, seed, start=s, params=params)
        ones = torch.ones(x.shape[0], device=x.device)
        g = torch.Generator().manual_seed(seed + 1)
        x = x.float()
        for cur in walker.timesteps:
            check_stop(should_stop)
            x0_hat = net(x, (cur / self.n_T) * ones).float().clamp(DATA_LOW, DATA_HIGH)
            x = walker.step(x0_hat, cur, x)
            if noise > 0 and walker.next[cur] > 0:
                x = x + noise * torch.randn(x.shape, generator=g).to(x.device)
            if trajectory is not None:
                trajectory.append(x)
        return x

    @torch.no_grad()
    def sample(
        self,
        net: nn.Module,
        n: int,
        *,
        sampler: str = DEFAULT_SAMPLER["cold"],
        steps: int | None = None,
        seed: int = 0,
        should_stop: StopCheck | None = None,
        start: str = "generate",
    ) -> torch.Tensor:
        """Generated digits by default (no real digit involved); start='reconstruct' restores held-out ones."""
        x, s, params = self.start_state(n, start, seed)
        noise = self.gen_noise if start == "generate" else 0.0
        return self.restore(
            net, x, s, sampler=sampler, steps=steps, params=params, noise=noise, seed=seed, should_stop=should_stop
        )

    def preview_variants(
        self, net: nn.Module, n: int, seed: int, should_stop: StopCheck | None = None
    ) -> dict[str, torch.Tensor]:
        """Beside the generated grid: reconstructions of held-out digits, and the other samplers."""
        sampler, steps = self.config.sampler, self.config.sample_steps
        out = {
            "reconstruct": self.sample(
                net, n, sampler=sampler, steps=steps, seed=seed, should_stop=should_stop, start="reconstruct"
            )
        }
        for other in self.samplers:
            if other != sampler:
                out[other] = self.sample(net, n, sampler=other, steps=steps, seed=seed, should_stop=should_stop)
        out["trajectory"] = self.reverse_strip(net, seed=seed)
        return out

    def preview_passes(self, sampler: str, steps: int | None) -> int:
        """The generated grid, the reconstructions and the other samplers' grids: one `should_stop` per step."""
        self.prior()  # where generation starts (t*) is fixed by the prior, fitted once
        walks = [(sampler, int(self.prior_t or self.n_T)), (sampler, self.n_T)]
        walks += [(other, int(self.prior_t or self.n_T)) for other in self.samplers if other != sampler]
        return sum(
            len(self.timesteps(s, 1 if sampler_class(self.name, name).one_step else steps)) - 1 for name, s in walks
        )

    @torch.no_grad()
    def reconstruction_sets(
        self, net: nn.Module, x0: torch.Tensor, *, sampler: str, steps: int | None, seed: int
    ) -> dict[str, torch.Tensor]:
        """x0 degraded fully to x_T, restored in one step ("direct") and by `sampler` ("sampled")."""
        g = torch.Generator(device=x0.device).manual_seed(seed + 1)
        params = self.degradation.draw_params(len(x0), g)
        degraded = self.degradation(x0, self.n_T, params)
        direct = self.restore(net, degraded, self.n_T, sampler="direct", params=params, seed=seed)
        sampled = self.restore(net, degraded, self.n_T, sampler=sampler, steps=steps, params=params, seed=seed)
        return {"degraded": degraded, "direct": direct, "sampled": sampled}

    def forward_strip(self, x0: torch.Tensor) -> torch.Tensor:
        """One digit at t = 0 .. n_T (11 evenly spaced frames, or every step when n_T <= 10)."""
        ts = torch.linspace(0, self.n_T, min(STRIP_FRAMES, self.n_T + 1)).round().long()
        one = x0[:1].float().to(self.device)
        params = self.degradation.generation_params(1)
        return torch.cat([self.degradation(one, int(t), params) for t in ts])

    @torch.no_grad()
    def reverse_strip(self, net: nn.Module, seed: int = 0, sampler: str | None = None) -> torch.Tensor:
        """One generated sample along the reverse process: x_{t*}, then the state after every step."""
        x, s, params = self.start_state(1, "generate", seed)
        frames = [x]
        self.restore(
            net,
            x,
            s,
            sampler=sampler or self.config.sampler,
            params=params,
            noise=self.gen_noise,
            seed=seed,
            trajectory=frames,
        )
        return torch.cat(frames)
