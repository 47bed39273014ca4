"""The M2 coursework starter's CNN, exactly: 7x7 conv blocks with LayerNorm and GELU, a time embedding
added after the first block, and a 3x3 conv back to one channel."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

NORMS = ("chw", "hw")


class CNNBlock(nn.Module):
    """Conv2d(kernel 7, padding 3) -> LayerNorm -> GELU."""

    def __init__(self, in_ch: int, out_ch: int, *, shape: tuple[int, int], norm: str = "chw", kernel: int = 7):
        super().__init__()
        norm_shape = (out_ch, *shape) if norm == "chw" else shape
        self.net = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2),
            nn.LayerNorm(norm_shape),
            nn.GELU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CNN(nn.Module):
    """A block per entry of `n_hidden`, then a 3x3 conv to `in_channels` with no activation.

    `norm="chw"` normalises over (C, H, W) (the starter's default); `"hw"` over (H, W) only,
    the course's other variant.
    """

    def __init__(
        self,
        n_hidden: Sequence[int] = (16, 32, 32, 16),
        *,
        in_channels: int = 1,
        shape: tuple[int, int] = (28, 28),
        norm: str = "chw",
        time_embeddings: int = 16,
    ):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, not {norm!r}")
        last = in_channels
        self.blocks = nn.ModuleList()
        for hidden in n_hidden:
            self.blocks.append(CNNBlock(last, hidden, shape=shape, norm=norm))
            last = hidden
        self.blocks.append(nn.Conv2d(last, in_channels, 3, padding=1))
        self.time_embed = nn.Sequential(
            nn.Linear(time_embeddings * 2, 128),
            nn.GELU(),
            nn.Linear(128, 128),
            nn.GELU(),
            nn.Linear(128, 128),
            nn.GELU(),
            nn.Linear(128, n_hidden[0]),
        )
        freqs = torch.tensor([0.0] + [2 * math.pi * 1.5**i for i in range(time_embeddings - 1)])
        self.register_buffer("frequencies", freqs)

    def time_encoding(self, t: torch.Tensor) -> torch.Tensor:
        phases = t[:, None] * self.frequencies[None, :]
        features = torch.cat((torch.sin(phases), torch.cos(phases) - 1), dim=1)
        return self.time_embed(features)[:, :, None, None]

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """`t` is the time as a fraction of n_T, shape (B,)."""
        h = self.blocks[0](x) + self.time_encoding(t)
        for block in self.blocks[1:]:
            h = block(h)
        return h


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
