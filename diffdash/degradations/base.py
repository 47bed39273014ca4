"""What every degradation offers the cold-diffusion process.

D(x0, t) for t = 0..n_T with D(x0, 0) = x0, getting stronger with t. A degradation that needs
per-image randomness (a hole at a random place) draws it once with `draw_params` and receives it
again on every call, so Algorithm 2's D(x̂0, s) and D(x̂0, s-1) degrade the same way.
"""

from __future__ import annotations

import torch


class Degradation:
    name = "base"

    def __init__(self, n_T: int, device: str | torch.device = "cpu"):
        self.n_T = int(n_T)
        self.device = torch.device(device)

    def __call__(self, x0: torch.Tensor, t: torch.Tensor | int, params: torch.Tensor | None = None) -> torch.Tensor:
        """Degrade a batch (B, 1, H, W) to steps t (B,) or one int, in float32 whatever the autocast."""
        t = self.steps(t, x0.shape[0], x0.device)
        with torch.autocast(device_type=x0.device.type, enabled=False):
            return self.degrade(x0.float(), t, params)

    def degrade(self, x0: torch.Tensor, t: torch.Tensor, params: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def draw_params(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Per-image random choices for training (None: the degradation is deterministic)."""
        return None

    def generation_params(self, n: int) -> torch.Tensor | None:
        """The choices used when generating from a prior (fixed ones, so the prior and sampler agree)."""
        return None

    def steps(self, t: torch.Tensor | int, n: int, device: torch.device) -> torch.Tensor:
        if isinstance(t, int):
            t = torch.full((n,), t, dtype=torch.long, device=device)
        t = t.to(device=device, dtype=torch.long)
        if t.numel() and (int(t.min()) < 0 or int(t.max()) > self.n_T):
            raise ValueError(f"t must lie in 0..{self.n_T}, got {int(t.min())}..{int(t.max())}")
        return t

    def describe(self) -> str:
        return self.name
