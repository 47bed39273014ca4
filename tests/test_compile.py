"""`--compile`: torch.compile's inductor on the CPU (it needs the C++ compiler this machine has).

A compiled run trains the same numbers as an uncompiled one, its checkpoint is a plain network's, and it
resumes without --compile. Compiling takes tens of seconds on a 2-core machine, hence `slow`.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import torch
from click.testing import CliRunner

from diffdash.checkpoint import load_checkpoint
from diffdash.cli import cli
from diffdash.models import build_network
from diffdash.runs.history import read_history
from diffdash.store import RunDir
from diffdash.training import Engine
from diffdash.training.compiled import batch_sizes, compile_problem

pytestmark = pytest.mark.slow


def train(run: RunDir, config, data, resume: bool = False) -> str:
    return Engine(run, config, data=data).run(resume=resume)


@contextmanager
def no_compiler():
    """Point inductor at a C++ compiler that does not exist (its lookup is cached: cleared both ways)."""
    from torch._inductor import config as inductor_config
    from torch._inductor.cpp_builder import cpp_compiler_search

    cpp_compiler_search.cache_clear()
    try:  # no cached kernel either: one would need no compiler
        with inductor_config.patch({"cpp.cxx": ("no-such-c++-compiler",), "fx_graph_cache": False}):
            yield
    finally:
        cpp_compiler_search.cache_clear()


def test_compiled_run_matches_eager_loads_plain_and_resumes_uncompiled(tmp_path, small_data, tiny_config):
    eager = RunDir.create(tmp_path, "eager")
    assert train(eager, tiny_config(ema=0.9), small_data) == "finished"

    compiled = RunDir.create(tmp_path, "compiled")
    assert train(compiled, tiny_config(ema=0.9, epochs=1, compile=True), small_data) == "finished"
    cfg = compiled.read_config()
    assert cfg["compile"] is True and cfg["compile_result"]["used"] is True and cfg["compile_result"]["seconds"] > 0

    ck = load_checkpoint(compiled.last_checkpoint)
    for weights in (ck["model"], ck["ema"]["weights"]):
        assert not any("_orig_mod" in key for key in weights)
        build_network(tiny_config()).load_state_dict(weights)  # strict: a plain network takes them as they are

    assert train(compiled, tiny_config(ema=0.9, epochs=2), small_data, resume=True) == "finished"
    assert compiled.read_config()["compile"] is False
    a, b = read_history(eager), read_history(compiled)
    assert a.step == b.step and len(a.step) == 8
    assert b.step_loss == pytest.approx(a.step_loss, rel=1e-4, abs=1e-6)
    assert b.val_loss == pytest.approx(a.val_loss, rel=1e-4, abs=1e-6)
    assert len(set(a.step_loss)) == 8  # distinct losses: the comparison means something


def test_uncompiled_run_resumes_compiled(tmp_path, small_data, tiny_config):
    eager = RunDir.create(tmp_path, "eager")
    assert train(eager, tiny_config(epochs=2), small_data) == "finished"
    run = RunDir.create(tmp_path, "switch")
    assert train(run, tiny_config(epochs=1), small_data) == "finished"
    assert train(run, tiny_config(epochs=2, compile=True), small_data, resume=True) == "finished"
    assert run.read_config()["compile_result"]["used"] is True
    assert read_history(run).step_loss == pytest.approx(read_history(eager).step_loss, rel=1e-4, abs=1e-6)


def test_compile_failure_trains_uncompiled_and_says_why(tmp_path, small_data, tiny_config):
    said: list[str] = []
    run = RunDir.create(tmp_path, "nocc")
    config = tiny_config(epochs=1, n_hidden=[4, 4], compile=True)
    torch._dynamo.reset()
    try:
        with no_compiler():
            assert Engine(run, config, data=small_data, say=said.append).run() == "finished"
    finally:
        torch._dynamo.reset()
    result = run.read_config()["compile_result"]
    assert result["used"] is False and "compiler" in result["error"].lower()
    assert any("--compile failed, training uncompiled" in line for line in said)
    assert len(read_history(run).step) == 4


def test_no_compiler_is_refused_before_the_run_exists(tmp_path):
    with no_compiler():
        assert "C++ compiler" in compile_problem("cpu")
        result = CliRunner().invoke(
            cli, ["new", "--compile", "--device", "cpu", "--dataset", "mnist-small", "--runs-dir", str(tmp_path)]
        )
    assert result.exit_code == 2 and "--compile needs a C++ compiler" in result.output
    assert not any(tmp_path.iterdir())


def test_batch_sizes_of_an_epoch():
    assert batch_sizes(256, 64) == [64]
    assert batch_sizes(60000, 128) == [128, 96]
    assert batch_sizes(50, 128) == [50]
