"""The precision a run trains in is applied in one place: `Session.precision_context()` builds the context that
the training step, the compile warm-up, validation and the previews each enter, so no site can pick its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

import diffdash
from diffdash.options.run_config import RunConfig
from diffdash.training.session import open_session

PACKAGE = Path(diffdash.__file__).resolve().parent


def autocast_calls() -> list[str]:
    """'module:function' for every call of an `autocast(...)` (ours or torch's) in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for func in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            for node in ast.walk(func):
                if isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] == "autocast":
                    found.append(f"{path.relative_to(PACKAGE).as_posix()}:{func.name}")
    return sorted(set(found))


def test_autocast_is_built_only_by_the_session_and_the_device_check():
    assert autocast_calls() == [
        "degradations/base.py:__call__",  # switches autocast off: a degradation works in float32
        "machine/devices.py:autocast",  # the one builder
        "machine/devices.py:check_precision",  # one tiny op, before any run, to refuse bf16 where it fails
        "training/session.py:precision_context",  # what every forward pass of a run enters
    ]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_session_context_is_the_runs_precision(precision):
    config = RunConfig(
        dataset="mnist-small", train_limit=64, val_limit=64, device="cpu", precision=precision, threads=1
    ).validate()
    session = open_session(config, None, say=lambda _: None, progress=lambda _: None)
    assert session.precision == precision
    with session.precision_context():
        assert torch.is_autocast_enabled("cpu") == (precision == "bf16")
        y = torch.nn.functional.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3))
    assert y.dtype == (torch.bfloat16 if precision == "bf16" else torch.float32)
    with session.precision_context(), session.precision_context():  # a fresh context each time: nesting is fine
        pass
    assert not torch.is_autocast_enabled("cpu")
