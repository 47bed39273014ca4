"""`--compile`: the training step's network through torch.compile, compiled before the first step.

Only the network as the training step calls it is compiled; `state.net` stays the plain module, so
checkpoints, the EMA and `--keep-snapshots` files hold its own state_dict (no `_orig_mod.` keys), load into
a plain network, and a run trained with --compile resumes without it and the other way round. With several
workers the compiled network is what DistributedDataParallel wraps: PyTorch's guidance ("Where to apply
torch.compile?") is to compile the inner module, as Dynamo handles the DDP wrapper poorly. Validation and
previews stay eager (`state.net` itself is not compiled): they run few network passes an epoch, and each new
batch shape, grad mode or EMA copy would cost a compile of its own.

The compile is forced by a warm-up forward and backward on each batch shape an epoch has (the epoch's last
batch is often shorter), with a throwaway generator: weights, optimiser and the run's RNG are untouched and
the gradients are cleared. So its seconds are not training time, and config.json records them. A machine
that cannot compile at all (no C++ compiler for the CPU, no Triton for CUDA) is refused before the run is
created (`compile_problem`, exit 2); a compile that fails anyway trains on uncompiled, with a warning and
the reason in config.json.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from diffdash.distributed.world import World
from diffdash.training.one_process import step_for


def compile_problem(device: str) -> str | None:
    """Why torch.compile cannot work on `device` here, or None: a one-line message for the CLI."""
    if device == "cpu":
        from torch._inductor import exc
        from torch._inductor.cpp_builder import get_cpp_compiler

        try:
            get_cpp_compiler()
        except (exc.InvalidCxxCompiler, OSError, RuntimeError):
            return "--compile needs a C++ compiler on the CPU (install g++ or clang, or set CXX), or drop --compile"
        return None
    if device == "cuda":
        from torch.utils._triton import has_triton

        if not has_triton():
            return "--compile needs Triton on CUDA (pip install triton), or drop --compile"
        return None
    return f"--compile is not supported on {device}: use --device cpu or cuda, or drop --compile"


def batch_sizes(n_train: int, batch_size: int) -> list[int]:
    """The distinct batch sizes of an epoch over `n_train` digits: the full one and a shorter last one."""
    full = min(batch_size, n_train)
    last = n_train - (n_train - 1) // batch_size * batch_size
    return sorted({full, last}, reverse=True)


def compiled_parallel(world: World, net: torch.nn.Module, session: Any, say: Callable[[str], None]):
    """(the network as the training step calls it, compiled, then wrapped for the workers; what config.json
    records under "compile_result": used and seconds, or the error that made training go on uncompiled)."""
    started = time.monotonic()
    try:
        parallel = step_for(world, torch.compile(net, dynamic=False), session.device)
        warm_up(parallel, session)
    except Exception as exc:  # noqa: BLE001 - any compile failure: train uncompiled rather than fail the run
        net.zero_grad(set_to_none=True)
        text = str(exc).strip()
        reason = f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
        say(f"warning: --compile failed, training uncompiled ({reason[:300]})")
        return step_for(world, net, session.device), {"used": False, "error": reason[:1000]}
    net.zero_grad(set_to_none=True)
    return parallel, {"used": True, "backend": "inductor", "seconds": round(time.monotonic() - started, 2)}


def warm_up(parallel: Any, session: Any) -> None:
    """A forward and backward per batch shape, as the step runs them (same rows, same autocast)."""
    gen = torch.Generator(device=session.device).manual_seed(0)
    x_all, bs, y_all = session.train_x, session.config.batch_size, session.train_y
    for n in batch_sizes(len(x_all), bs):
        with session.precision_context():
            loss, _ = parallel.loss(session.process, x_all[:n], gen, y_all[:n] if y_all is not None else None)
        loss.backward()
