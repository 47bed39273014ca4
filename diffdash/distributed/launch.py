"""Start torchrun for one run on this machine: `diffdash new/resume --nproc N` call this, then follow the folder.

torchrun (`python -m torch.distributed.run`) is PyTorch's elastic launcher: it starts N workers
(`python -m diffdash.worker RUN`), watches them every `monitor_interval` seconds and, when one dies, stops the
others and starts the group again (up to --max-restarts times); the restarted workers see
TORCHELASTIC_RESTART_COUNT > 0 and resume from the run's last checkpoint. `--standalone` runs the rendezvous
on a free local port, so nothing needs configuring on one machine.

The launcher and its agent must not outlive each other's purpose: torchrun is started in its own session (a
Ctrl-C in the terminal reaches the launcher, which asks the workers to stop through the control file,
instead of torchrun killing them mid-step), and with a parent-death signal, so that a killed launcher takes
the agent and, through the workers' own parent watch, the workers with it: the run then reads as crashed
and `diffdash resume` continues it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1
MONITOR_INTERVAL_S = 0.5
LAUNCHER_ENV = "DIFFDASH_LAUNCHER_PID"  # the process holding the run's lock for its workers


def torchrun_command(
    run_path: str | Path,
    nproc: int,
    *,
    max_restarts: int = 0,
    resume: bool = False,
    epochs: int | None = None,
    python: str | None = None,
) -> list[str]:
    """The command line for `nproc` workers on this machine."""
    cmd = [
        python or sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nnodes",
        "1",
        "--nproc-per-node",
        str(nproc),
        "--max-restarts",
        str(max_restarts),
        "--monitor-interval",
        str(MONITOR_INTERVAL_S),
        "-m",
        "diffdash.worker",
        str(Path(run_path).resolve()),
    ]
    return [*cmd, *(["--resume"] if resume else []), *(["--epochs", str(epochs)] if epochs is not None else [])]


def cluster_command(
    run_path: str, nnodes: int | str, nproc_per_node: int | str, endpoint: str, max_restarts: int = 0
) -> str:
    """What to run on each node of a cluster (the README shows it): the same line everywhere."""
    return (
        f"torchrun --nnodes {nnodes} --nproc-per-node {nproc_per_node} --max-restarts {max_restarts} "
        f"--rdzv-backend c10d --rdzv-endpoint {endpoint} -m diffdash.worker {run_path}"
    )


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask Linux to send `sig` to this process when its parent dies (prctl PR_SET_PDEATHSIG); no-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def launch(
    run_path: str | Path,
    nproc: int,
    *,
    threads_per_worker: int,
    max_restarts: int = 0,
    resume: bool = False,
    epochs: int | None = None,
    log_path: str | Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start torchrun; returns at once with the process. Its output (and the workers') goes to `log_path`
    (else this terminal). Call it from the main thread: the parent-death signal is tied to the thread."""
    child_env = {
        **os.environ,
        **(env or {}),
        "OMP_NUM_THREADS": str(threads_per_worker),
        LAUNCHER_ENV: str(os.getpid()),
    }
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    out = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            torchrun_command(run_path, nproc, max_restarts=max_restarts, resume=resume, epochs=epochs),
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - the only way to tie torchrun's life to ours
        )
    finally:
        if out is not None:
            out.close()
