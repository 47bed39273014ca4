"""A small U-Net for 28x28 digits: the noise predictor of DDPM and the restorer of cold diffusion.

The shape of lucidrains' `Unet` and diffusers' `UNet2DModel`, cut to MNIST's size: residual blocks
(GroupNorm, SiLU, 3x3 convolutions) that add the time embedding (sinusoidal features through an MLP) between
their two convolutions, 28->14->7 and back with skip connections, and self-attention at 7x7 only, where 49
positions make it cheap. Widths are `--unet-channels` (28x28, 14x14, 7x7). Class labels, when the network is
built with `num_classes`, are an embedding added to the time embedding.

Torch-free when imported (the option table reads `OPTIONS` for `--help`): the torch classes are built by
`network_class()` on first use, and `from diffdash.models.unet import UNet` builds them too.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from diffdash.models import named_in, torch_parts_access
from diffdash.options.option import Option
from diffdash.options.values import check_n_hidden, message, parse_int_list

LABEL = "a small U-Net: residual blocks, 28->14->7 and back, attention at 7x7"
GROUPS = 8
HEADS = 4
CHANNELS = [16, 32, 64]  # measured: trains faster than the CNN on a 2-core CPU (README, Networks)
# measured: at lr 1e-3 the default U-Net reached in 10 minutes of training the FID that 2e-4 (the coursework's, the
# CNN's default) reached in 30 (149 against 157, n=1000, dpm++2m 20); 3e-3 was worse than 1e-3 (README, Networks)
DEFAULTS = {"lr": 1e-3}


def _widths(values: list[int]) -> str | None:
    problem = message(check_n_hidden, values, "unet-channels")
    if problem:
        return problem
    if len(values) != 3:
        return f"unet-channels takes three widths (28x28, 14x14, 7x7), e.g. 32,64,128; got {len(values)}"
    if any(v % GROUPS for v in values):
        return f"unet-channels widths must be multiples of 8 (GroupNorm's 8 groups), got {','.join(map(str, values))}"
    return None


OPTIONS: tuple[Option, ...] = (
    Option(
        "unet_channels", "list[int]", CHANNELS, "U-Net widths at 28x28, 14x14 and 7x7 (multiples of 8).", "net:unet",
        check=_widths, parse=lambda text: parse_int_list(text, "unet-channels"),
    ),
)  # fmt: skip
TORCH_NAMES = ("UNet", "ResBlock", "Attention", "sinusoidal")


@cache
def _torch_parts() -> dict[str, Any]:
    """The network's torch classes, made on first use (torch imported here, not when the module is)."""
    import math
    from collections.abc import Sequence

    import torch
    import torch.nn.functional as F
    from torch import nn

    def sinusoidal(t: torch.Tensor, dim: int) -> torch.Tensor:
        """Transformer-style features of t in [0, 1] (scaled to 0..1000, as the step index would be)."""
        half = dim // 2
        freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
        phases = (t.float() * 1000)[:, None] * freqs[None, :]
        return torch.cat((phases.sin(), phases.cos()), dim=1)

    class ResBlock(nn.Module):
        """GroupNorm -> SiLU -> conv, + the embedding, GroupNorm -> SiLU -> conv, + the input (1x1 when widths
        differ)."""

        def __init__(self, in_ch: int, out_ch: int, emb_dim: int):
            super().__init__()
            self.norm1, self.conv1 = nn.GroupNorm(GROUPS, in_ch), nn.Conv2d(in_ch, out_ch, 3, padding=1)
            self.emb = nn.Linear(emb_dim, out_ch)
            self.norm2, self.conv2 = nn.GroupNorm(GROUPS, out_ch), nn.Conv2d(out_ch, out_ch, 3, padding=1)
            self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

        def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
            h = self.conv1(F.silu(self.norm1(x)))
            h = h + self.emb(emb)[:, :, None, None]
            h = self.conv2(F.silu(self.norm2(h)))
            return h + self.skip(x)

    class Attention(nn.Module):
        """Multi-head self-attention over the positions of a small feature map, residual."""

        def __init__(self, ch: int, heads: int = HEADS):
            super().__init__()
            self.heads = heads
            self.norm = nn.GroupNorm(GROUPS, ch)
            self.qkv = nn.Conv2d(ch, 3 * ch, 1)
            self.out = nn.Conv2d(ch, ch, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, c, hh, ww = x.shape
            q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, hh * ww).unbind(1)
            h = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
            return x + self.out(h.transpose(-1, -2).reshape(b, c, hh, ww))

    class UNet(nn.Module):
        """in conv -> [res, down] x2 -> res, attention, res at 7x7 -> [up, concat skip, res] x2 -> out conv."""

        def __init__(
            self, channels: Sequence[int] = tuple(CHANNELS), *, in_channels: int = 1, num_classes: int | None = None
        ):
            super().__init__()
            c1, c2, c3 = channels
            emb_dim = 4 * c1
            self.time_dim = c1
            self.time_mlp = nn.Sequential(nn.Linear(c1, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
            self.label_embed = nn.Embedding(num_classes, emb_dim) if num_classes else None
            self.inp = nn.Conv2d(in_channels, c1, 3, padding=1)
            self.down1, self.pool1 = ResBlock(c1, c1, emb_dim), nn.Conv2d(c1, c1, 3, stride=2, padding=1)  # 28 -> 14
            self.down2, self.pool2 = ResBlock(c1, c2, emb_dim), nn.Conv2d(c2, c2, 3, stride=2, padding=1)  # 14 -> 7
            self.mid1, self.attn, self.mid2 = ResBlock(c2, c3, emb_dim), Attention(c3), ResBlock(c3, c3, emb_dim)
            self.up2 = ResBlock(c3 + c2, c2, emb_dim)  # 7 -> 14, with the 14x14 skip
            self.up1 = ResBlock(c2 + c1, c1, emb_dim)  # 14 -> 28, with the 28x28 skip
            self.out = nn.Sequential(nn.GroupNorm(GROUPS, c1), nn.SiLU(), nn.Conv2d(c1, in_channels, 3, padding=1))

        @classmethod
        def from_config(cls, config, num_classes: int | None = None) -> UNet:
            return cls(config.unet_channels, num_classes=num_classes)

        def channels_last_helps(self, device: str) -> bool:
            """On the CPU, channels-last convolutions and GroupNorm skip oneDNN's reorders: a training step at
            32,64,128 went from 106 to 131 images/s on a 2-core CPU (benchmarks/bench_networks.py)."""
            return device == "cpu"

        def embedding(self, t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
            emb = self.time_mlp(sinusoidal(t, self.time_dim))
            if y is not None:
                if self.label_embed is None:
                    raise ValueError("this network was built without classes: build it with num_classes to give labels")
                emb = emb + self.label_embed(y)
            return emb

        def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
            """`t` is the time as a fraction of n_T, shape (B,); `y` class labels (B,), for a U-Net built with
            classes."""
            emb = self.embedding(t, y)
            s1 = self.down1(self.inp(x), emb)  # 28x28
            s2 = self.down2(self.pool1(s1), emb)  # 14x14
            h = self.mid2(self.attn(self.mid1(self.pool2(s2), emb)), emb)  # 7x7
            h = self.up2(torch.cat((F.interpolate(h, scale_factor=2.0), s2), dim=1), emb)  # nearest, 14x14
            return self.out(self.up1(torch.cat((F.interpolate(h, scale_factor=2.0), s1), dim=1), emb))

    parts = {"UNet": UNet, "ResBlock": ResBlock, "Attention": Attention, "sinusoidal": sinusoidal}
    return named_in(__name__, parts)


network_class, __getattr__ = torch_parts_access(__name__, TORCH_NAMES, _torch_parts, "UNet")
