"""An exponential moving average of a network's weights (Polyak averaging), for smoother samples.

Diffusion samples from averaged weights are usually cleaner than from the last step's weights. The
average is PyTorch's own `torch.optim.swa_utils.AveragedModel` with `get_ema_multi_avg_fn` doing the
arithmetic (one fused `_foreach_lerp_` per update); it lives in its own copy of the network
(`ema.module`), so sampling from it needs no swapping, and buffers are copied, not averaged.

The warm-up is kept: after n updates the decay is min(decay, (1 + n) / (10 + n)) (TensorFlow's
ExponentialMovingAverage with num_updates). Without it a decay of 0.999 still holds 63% of the first
step's weights after one MNIST epoch (469 steps), so the first previews and evaluations would show an
average of nearly untrained networks. AveragedModel's first update copies the weights, so update 0
uses decay 0 where the old hand-written class used 0.1 (of the random init); every later update is
the same as before.

Checkpoints hold {"decay", "updates", "weights"}, the layout of the hand-written class, so
checkpoints written before this change load and resume.
"""

from __future__ import annotations

from typing import Any

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

WARMUP_OFFSET = 10


def warmup_decay(decay: float, updates: int) -> float:
    """The decay applied at the update after `updates` earlier ones: ramps up toward `decay`."""
    return min(decay, (1 + updates) / (WARMUP_OFFSET + updates))


class EMA(AveragedModel):
    """AveragedModel with a warm-up, `update(net)` after every optimiser step, and a checkpoint dict."""

    def __init__(self, net: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must lie strictly between 0 and 1, got {decay}")
        super().__init__(net, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)
        self.decay = float(decay)
        self.module.eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    @property
    def updates(self) -> int:
        return int(self.n_averaged)

    def update(self, net: nn.Module) -> None:
        """Call after every optimiser step: avg <- d * avg + (1 - d) * weights (the first call copies).

        The decay is chosen here from the update count, which stays on the CPU: no device sync per step.
        """
        self.multi_avg_fn = get_ema_multi_avg_fn(warmup_decay(self.decay, self.updates))
        self.update_parameters(net)

    def checkpoint(self) -> dict[str, Any]:
        return {"decay": self.decay, "updates": self.updates, "weights": self.module.state_dict()}

    def restore(self, state: dict[str, Any]) -> None:
        self.decay = float(state["decay"])
        self.n_averaged.fill_(int(state["updates"]))
        self.module.load_state_dict(state["weights"])
