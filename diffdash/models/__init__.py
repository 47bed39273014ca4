"""Networks, the way samplers are: one module per network, one line here, its options in options/network_options.py.

A network is an `nn.Module` class with
  - `from_config(config, num_classes=None)`: built from a RunConfig (its own options are config fields);
  - `forward(x, t, y=None)`: x (B, 1, 28, 28), t the time as a fraction of n_T (B,), y optional class labels
    (B,) long; a network built without `num_classes` raises when given labels. Conditioning is an embedding of
    y added to the time embedding, so a conditional network is the same network with one more table;
  - optionally `channels_last_helps(device) -> bool`: whether channels-last memory is faster there.
This module imports nothing heavy: `--net`'s choices and validation read the names below.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from diffdash.options.run_config import RunConfig

# name -> "module:Class", in the order users see them; the first is the default
NETWORKS: dict[str, str] = {
    "cnn": "cnn:CNN",
    "unet": "unet:UNet",
}
DEFAULT_NETWORK = "cnn"
LABELS = {
    "cnn": "the coursework's CNN: 7x7 convolutions at full resolution",
    "unet": "a small U-Net: residual blocks, 28->14->7 and back, attention at 7x7",
}


def names() -> tuple[str, ...]:
    return tuple(NETWORKS)


def network_text(config: Mapping[str, Any]) -> str:
    """A config.json's network as the views show it: '16,32,32,16' (the CNN's blocks, as always shown) or
    'unet 32,64,128'; a run written before `net` existed is the CNN."""
    from diffdash.options.table import OPTIONS

    net = config.get("net") or DEFAULT_NETWORK
    widths = next((config.get(o.name) for o in OPTIONS if o.network == net and o.type == "list[int]"), None)
    shown = ",".join(map(str, widths)) if isinstance(widths, list) else ""
    return shown if net == "cnn" else f"{net} {shown}".strip()


def network_class(name: str) -> type[torch.nn.Module]:
    """The class behind a name; ValueError naming the choices for an unknown one."""
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}: choose one of {', '.join(NETWORKS)}")
    module, cls = NETWORKS[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def build_network(config: RunConfig, num_classes: int | None = None) -> torch.nn.Module:
    """The run's network, initialised from the run's seed without touching the global RNG.

    Training, sampling and evaluation all build it here, so a checkpoint's weights always fit. A class-conditional
    run (`cond` "class") gets the ten digits' label embedding plus the learned "no label" entry (index 10).
    """
    import torch

    if num_classes is None and getattr(config, "cond", "none") == "class":
        from diffdash.options.cond_options import NUM_CLASSES

        num_classes = NUM_CLASSES + 1
    cls = network_class(getattr(config, "net", DEFAULT_NETWORK))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return cls.from_config(config, num_classes=num_classes)


def use_fast_layout(net: torch.nn.Module, device: str) -> torch.nn.Module:
    """Channels-last weights where the network says they are faster on `device` (its `channels_last_helps`),
    else the network as it is. Any network gets this; each decides from its own measurements."""
    import torch

    helps = getattr(net, "channels_last_helps", None)
    if helps is not None and helps(device):
        return net.to(memory_format=torch.channels_last)
    return net


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
