"""The M2 coursework starter's CNN, exactly: 7x7 conv blocks with LayerNorm and GELU, a time embedding
added after the first block, and a 3x3 conv back to one channel.

Torch-free when imported (the option table reads `OPTIONS` for `--help`): the torch classes are built by
`network_class()` on first use, and `from diffdash.models.cnn import CNN` builds them too.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from diffdash.models import count_parameters, named_in, torch_parts_access, use_fast_layout  # noqa: F401 - older home
from diffdash.options.option import Option
from diffdash.options.values import check_n_hidden, message, parse_int_list

LABEL = "the coursework's CNN: 7x7 convolutions at full resolution"
NORMS = ("chw", "hw")
OPTIONS: tuple[Option, ...] = (
    Option(
        "n_hidden", "list[int]", [16, 32, 32, 16], "Channels of each CNN block.", "net:cnn",
        check=lambda v: message(check_n_hidden, v), parse=parse_int_list, section="Options",
    ),
    Option(
        "norm", "str", "chw", "LayerNorm over (C,28,28) 'chw' (starter default) or (28,28) 'hw'.", "net:cnn",
        choices=NORMS, what="norm", section="Options",
    ),
)  # fmt: skip
TORCH_NAMES = ("CNN", "CNNBlock", "channels_last_layer_norm")


@cache
def _torch_parts() -> dict[str, Any]:
    """The network's torch classes, made on first use (torch imported here, not when the module is)."""
    import math
    from collections.abc import Sequence

    import torch
    import torch.nn.functional as F
    from torch import nn

    cl = torch.channels_last

    def channels_last_layer_norm(h: torch.Tensor, norm: nn.LayerNorm) -> torch.Tensor:
        """LayerNorm over (C, H, W) of a channels-last tensor, with no copy to NCHW and back.

        The statistics are per sample over all of C*H*W and the affine is elementwise, so normalising the
        (H, W, C) view that channels-last memory already is, with the weights permuted alike, is the same
        LayerNorm (up to float summation order).
        """
        c, hh, ww = norm.normalized_shape
        out = F.layer_norm(
            h.permute(0, 2, 3, 1), (hh, ww, c), norm.weight.permute(1, 2, 0), norm.bias.permute(1, 2, 0), norm.eps
        )
        return out.permute(0, 3, 1, 2)

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
            conv, norm, act = self.net
            h = conv(x)
            if len(norm.normalized_shape) == 3 and not h.is_contiguous() and h.is_contiguous(memory_format=cl):
                return act(channels_last_layer_norm(h, norm))
            return act(norm(h))

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
            num_classes: int | None = None,
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
            # class labels, added to the time embedding; made only when asked for, so the starter's CNN is unchanged
            self.label_embed = nn.Embedding(num_classes, n_hidden[0]) if num_classes else None

        @classmethod
        def from_config(cls, config, num_classes: int | None = None) -> CNN:
            return cls(config.n_hidden, norm=config.norm, num_classes=num_classes)

        def channels_last_helps(self, device: str) -> bool:
            """Channels-last on the CPU for the (C, H, W) norm: oneDNN's convolutions then read and write NHWC
            directly instead of reordering every activation, and the norm runs on the permuted view (about 15 %
            off a training step on an AVX-512 CPU, measured by benchmarks/bench_engine.py). Not for the (H, W)
            norm, which would copy to NCHW at every block, nor elsewhere (not measured)."""
            return device == "cpu" and all(len(b.net[1].normalized_shape) == 3 for b in self.blocks[:-1])

        def time_encoding(self, t: torch.Tensor) -> torch.Tensor:
            phases = t[:, None] * self.frequencies[None, :]
            features = torch.cat((torch.sin(phases), torch.cos(phases) - 1), dim=1)
            return self.time_embed(features)[:, :, None, None]

        def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
            """`t` is the time as a fraction of n_T, shape (B,); `y` class labels (B,), for a CNN built with classes."""
            embedding = self.time_encoding(t)
            if y is not None:
                if self.label_embed is None:
                    raise ValueError("this network was built without classes: build it with num_classes to give labels")
                embedding = embedding + self.label_embed(y)[:, :, None, None]
            h = self.blocks[0](x) + embedding
            for block in self.blocks[1:]:
                h = block(h)
            return h

    return named_in(__name__, {"CNN": CNN, "CNNBlock": CNNBlock, "channels_last_layer_norm": channels_last_layer_norm})


network_class, __getattr__ = torch_parts_access(__name__, TORCH_NAMES, _torch_parts, "CNN")
