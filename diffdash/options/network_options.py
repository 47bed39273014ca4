"""The networks' own options, torch-free: each names its network in `applies_to` ("net:cnn"), so
config.json keeps only the chosen network's, `--help` groups them under it and validation checks them only
for its runs. Kept with the option table (options/table.py gathers them), not with the networks, so the table
imports no network package: a network's module reads its options from the config."""

from __future__ import annotations

from diffdash.options.option import Option
from diffdash.options.values import check_n_hidden, message, parse_int_list

CNN_NORMS = ("chw", "hw")
UNET_CHANNELS = [16, 32, 64]  # measured: trains faster than the CNN on a 2-core CPU (README, Networks)


def _unet_widths(values: list[int]) -> str | None:
    problem = message(check_n_hidden, values, "unet-channels")
    if problem:
        return problem
    if len(values) != 3:
        return f"unet-channels takes three widths (28x28, 14x14, 7x7), e.g. 32,64,128; got {len(values)}"
    if any(v % 8 for v in values):
        return f"unet-channels widths must be multiples of 8 (GroupNorm's 8 groups), got {','.join(map(str, values))}"
    return None


OPTIONS: tuple[Option, ...] = (
    Option(
        "n_hidden", "list[int]", [16, 32, 32, 16], "Channels of each CNN block.", "net:cnn",
        check=lambda v: message(check_n_hidden, v), parse=parse_int_list, section="Options",
    ),
    Option(
        "norm", "str", "chw", "LayerNorm over (C,28,28) 'chw' (starter default) or (28,28) 'hw'.", "net:cnn",
        choices=CNN_NORMS, what="norm", section="Options",
    ),
    Option(
        "unet_channels", "list[int]", UNET_CHANNELS,
        "U-Net widths at 28x28, 14x14 and 7x7 (multiples of 8).", "net:unet",
        check=_unet_widths, parse=lambda text: parse_int_list(text, "unet-channels"),
    ),
)  # fmt: skip
