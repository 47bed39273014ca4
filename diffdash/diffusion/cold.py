"""Cold diffusion (Bansal et al. 2022): restore a deterministic degradation D(x0, t) instead of noise.

The network R(x_t, t / n_T) predicts x0. Three samplers walk from a start x_s down to t = 0:
  direct  one step: x̂0 = R(x_s, s)
  alg1    x_{s'} = D(R(x_s, s), s')                       (Bansal's Algorithm 1)
  alg2    x_{s'} = x_s - D(x̂0, s) + D(x̂0, s')            (Algorithm 2, robust to an imperfect R)
with s' the next step (every step, or a strided subset when fewer steps are asked for).
Two starts: 'reconstruct' degrades held-out digits to n_T (what the coursework did) and 'generate'
draws x_{t*} from a prior fitted to degraded training digits (diffusion/cold_prior.py), so no real
digit is involved; optional small noise at each step (Rissanen et al. 2022) breaks ties further.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from diffdash.data import DATA_HIGH, DATA_LOW
from diffdash.degradations import build_degradation
from diffdash.diffusion.base import StopCheck, check_stop
from diffdash.diffusion.cold_prior import FIT_IMAGES, PRIOR_SEED, GaussianMixturePrior

if TYPE_CHECKING:
    from diffdash.config import RunConfig

SAMPLERS = ("direct", "alg1", "alg2")
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


class ColdDiffusion:
    name = "cold"
    samplers = SAMPLERS
    default_sampler = "alg2"
    starts = STARTS

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

    def _load_data(self) -> None:
        """Outside training (`diffdash sample`), read the run's own data set: no download, same limits."""
        from diffdash.data import load_mnist, to_tensor

        cfg = self.config
        data = load_mnist(cfg.dataset, cfg.data_dir, download=False)
        train = data.train_images[: cfg.train_limit] if cfg.train_limit else data.train_images
        test = data.test_images[: cfg.val_limit] if cfg.val_limit else data.test_images
        self.attach_data(to_tensor(train, str(self.device)), to_tensor(test, str(self.device)))

    def prior(self) -> GaussianMixturePrior:
        """Fitted once per t*, deterministically, from up to 10,000 training digits degraded to t*."""
        if self._prior is None or self._prior_t != self.prior_t:
            if self.train_x is None:
                self._load_data()
            g = torch.Generator().manual_seed(PRIOR_SEED)
            idx = torch.randperm(len(self.train_x), generator=g)[:FIT_IMAGES].to(self.train_x.device)
            if self.prior_t is None:
                self.prior_t = auto_prior_t(self.degradation, self.train_x[idx])
            chunks = []
            for part in self.train_x[idx].split(1000):
                params = self.degradation.generation_params(len(part))
                chunks.append(self.degradation(part.float(), self.prior_t, params).cpu())
            self._prior = GaussianMixturePrior(torch.cat(chunks), components=self.config.prior_components)
            self._prior_t = self.prior_t
        return self._prior

    # ------------------------------------------------------------------ training
    def loss(self, net: nn.Module, x0: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n = x0.shape[0]
        t = torch.randint(1, self.n_T + 1, (n,), device=x0.device, generator=generator)
        params = self.degradation.draw_params(n, generator)
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
            if self.val_x is None:
                self._load_data()
            g = torch.Generator().manual_seed(seed)
            idx = torch.randperm(len(self.val_x), generator=g)[:n]
            while len(idx) < n:  # fewer held-out digits than asked for: reuse them
                idx = torch.cat([idx, idx])[:n]
            x0 = self.val_x[idx.to(self.val_x.device)].float().to(self.device)
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
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r} for cold: choose one of {', '.join(SAMPLERS)}")
        ones = torch.ones(x.shape[0], device=x.device)
        g = torch.Generator().manual_seed(seed + 1)
        ts = self.timesteps(s, 1 if sampler == "direct" else steps)
        x = x.float()
        for cur, nxt in zip(ts[:-1], ts[1:], strict=True):
            check_stop(should_stop)
            x0_hat = net(x, (cur / self.n_T) * ones).float().clamp(DATA_LOW, DATA_HIGH)
            if sampler == "alg2":
                x = x - self.degradation(x0_hat, cur, params) + self.degradation(x0_hat, nxt, params)
            else:  # direct (one step to 0) and alg1; D(x, 0) = x
                x = self.degradation(x0_hat, nxt, params)
            if noise > 0 and nxt > 0:
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
        sampler: str = "alg2",
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
        for other in SAMPLERS:
            if other != sampler:
                out[other] = self.sample(net, n, sampler=other, steps=steps, seed=seed, should_stop=should_stop)
        out["trajectory"] = self.reverse_strip(net, seed=seed)
        return out

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
