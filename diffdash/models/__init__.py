"""Networks, the way samplers are: a network is one module under diffdash/models and one line in `NETWORKS`.

A network's module is torch-free when imported, so the option table (and `--help`) can read it:
  - `LABEL`: one line saying what the network is;
  - `OPTIONS`: its own options (`Option`s with `applies_to="net:NAME"`), which the option table gathers through
    `network_options()` below: config.json keeps only the chosen network's, `--help` groups them under it;
  - `network_class()`: its `nn.Module` class, built on the first call (torch is imported there) and cached;
  - optionally `DEFAULTS`: its own defaults for general options, e.g. {"lr": 1e-3} (a run that does not set the
    option gets it; `--help` shows it beside the general default).
The class has
  - `from_config(config, num_classes=None)`: built from a RunConfig (its own options are config fields);
  - `forward(x, t, y=None)`: x (B, 1, 28, 28), t the time as a fraction of n_T (B,), y optional class labels
    (B,) long; a network built without `num_classes` raises when given labels. Conditioning is an embedding of
    y added to the time embedding, so a conditional network is the same network with one more table;
  - optionally `channels_last_helps(device) -> bool`: whether channels-last memory is faster there.
Parameter counts and memory estimates are measured on the module itself (machine/memory_budget.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from diffdash.options.option import Option
    from diffdash.options.run_config import RunConfig

# the networks' modules under diffdash/models, in the order users see them; the first is the default
NETWORKS: tuple[str, ...] = (
    "cnn",
    "unet",
)
DEFAULT_NETWORK = NETWORKS[0]


def names() -> tuple[str, ...]:
    return NETWORKS


def network_module(name: str) -> ModuleType:
    """The module that declares network `name` (torch-free); ValueError naming the choices for an unknown one."""
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}: choose one of {', '.join(NETWORKS)}")
    return importlib.import_module(f"{__name__}.{name}")


def label(name: str) -> str:
    return network_module(name).LABEL


def network_options() -> tuple[Option, ...]:
    """Every network's own options, in registry order: what the option table puts after `net`."""
    gathered: list[Option] = []
    for name in NETWORKS:
        for option in network_module(name).OPTIONS:
            if option.network != name:
                raise ValueError(f"models/{name}.py declares {option.name} for {option.applies_to!r}, not 'net:{name}'")
            gathered.append(option)
    return tuple(gathered)


def network_defaults() -> dict[str, dict[str, Any]]:
    """What the networks' `DEFAULTS` set, by option: {"lr": {"unet": 0.001}}."""
    found: dict[str, dict[str, Any]] = {}
    for name in NETWORKS:
        for option, value in getattr(network_module(name), "DEFAULTS", {}).items():
            found.setdefault(option, {})[name] = value
    return found


def network_text(config: Mapping[str, Any]) -> str:
    """A config.json's network as the views show it: '16,32,32,16' (the CNN's blocks, as always shown) or
    'unet 32,64,128'; a run written before `net` existed is the CNN."""
    net = config.get("net") or DEFAULT_NETWORK
    if net not in NETWORKS:
        return str(net)
    widths = next((config.get(o.name) for o in network_module(net).OPTIONS if o.type == "list[int]"), None)
    shown = ",".join(map(str, widths)) if isinstance(widths, list) else ""
    return shown if net == DEFAULT_NETWORK else f"{net} {shown}".strip()


def network_class(name: str) -> type[torch.nn.Module]:
    """The class behind a name (imports torch); ValueError naming the choices for an unknown one."""
    return network_module(name).network_class()


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


def named_in(module: str, parts: dict[str, Any]) -> dict[str, Any]:
    """A network module's torch classes, made inside its factory, given their module-level names (`module.Name`),
    so pickle, reprs and `from diffdash.models.unet import UNet` (the module's `__getattr__`) all find them."""
    for name, part in parts.items():
        part.__module__, part.__qualname__ = module, name
    return parts


def torch_parts_access(
    module: str, names: tuple[str, ...], parts: Callable[[], dict[str, Any]], main: str
) -> tuple[Callable[[], type], Callable[[str], Any]]:
    """(`network_class`, the module's `__getattr__`) for a network module whose torch classes `parts()` makes on
    first use: `network_class()` is `parts()[main]`; `from module import Name` works for each of `names` (and
    only those, so an unrelated attribute lookup never imports torch)."""

    def network_class() -> type:
        return parts()[main]

    def getattr_(name: str) -> Any:
        if name in names:
            return parts()[name]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return network_class, getattr_


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
