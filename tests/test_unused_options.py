"""A flag typed for another kind of run is refused (exit 2, one line saying what it is for), not silently dropped
from config.json; the same value left at its default, or a flag that applies, is fine."""

from __future__ import annotations

import pytest
from fault_support import invoke


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--guidance", "3"], "--guidance is only for class-conditional runs (--cond class)"),
        (["--cond-drop", "0.2"], "--cond-drop is only for class-conditional runs"),
        (["--unet-channels", "16,32,64"], "--unet-channels is only for --net unet runs, and this one is --net cnn"),
        (["--net", "unet", "--n-hidden", "16,32"], "--n-hidden is only for --net cnn runs, and this one is --net unet"),
        (["--kernel-size", "5"], "--kernel-size is only for cold-diffusion runs (--model cold)"),
    ],
)
def test_a_flag_for_another_kind_of_run_is_refused(tmp_path, args, said):
    result = invoke("new", *args, "--epochs", "1", "--dataset", "mnist-small", "--headless", runs=tmp_path)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and said in errors[0], result.output
    assert not any(tmp_path.iterdir())  # no run folder made


def test_flags_that_apply_are_taken(tmp_path):
    result = invoke(
        "new", "--model", "cold", "--kernel-size", "5", "--prepare", "--dataset", "mnist-small", runs=tmp_path
    )
    assert result.exit_code == 0, result.output
    result = invoke("new", "--cond", "class", "--guidance", "3", "--net", "unet", "--unet-channels", "16,32,64",
                    "--prepare", "--dataset", "mnist-small", runs=tmp_path)  # fmt: skip
    assert result.exit_code == 0, result.output
