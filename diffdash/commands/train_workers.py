"""`diffdash new/resume --nproc N`: one run trained by N worker processes that torchrun starts on this machine.

This process is only the launcher: it starts torchrun (diffdash.distributed.launch), shows the run by
following its folder (the dashboard, or headless progress lines), and passes the keys and Ctrl-C to the
workers through the run folder's control file. The workers write the folder (rank 0 alone).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import click

from diffdash.commands.common import bad
from diffdash.commands.new_options import click_option
from diffdash.options.launch_options import LAUNCH_BY_NAME
from diffdash.options.run_config import RunConfig
from diffdash.store import RunDir

FOLLOW_S = 0.2
STOP_GRACE_S = 10.0  # a stop request (Ctrl-C, SIGTERM) the workers have not honoured by then ends torchrun
KILL_GRACE_S = 5.0


def workers_options(f):
    """--nproc and --max-restarts, shared by `new` and `resume` (declared in diffdash/options/launch_options.py)."""
    f = click_option(LAUNCH_BY_NAME["max_restarts"])(f)
    return click_option(LAUNCH_BY_NAME["nproc"])(f)


def check_workers(config: RunConfig, nproc: int, max_restarts: int = 0) -> None:
    """--device cuda with more workers than GPUs, a backend without its hardware, or restarts asked of a run that
    trains in this process: exit 2 before anything runs."""
    if nproc == 1:
        if max_restarts:
            raise bad(
                "max-restarts",
                "restarts need --nproc 2 or more (torchrun's workers); a run trained in this "
                "process that crashes is continued with `diffdash resume`",
            )
        return
    from diffdash.distributed.world import DistributedError, check_request

    cuda_count = 0
    if config.device in ("cuda", "auto"):
        import torch

        cuda_count = torch.cuda.device_count()
    try:
        device, _ = check_request(config.device, nproc, cuda_count)
    except DistributedError as exc:
        raise bad("nproc", str(exc)) from None
    from diffdash.commands.train_checks import check_worker_resources

    check_worker_resources(config, nproc, device)


def train_with_workers(
    run: RunDir,
    config: RunConfig,
    *,
    nproc: int,
    max_restarts: int,
    resume: bool,
    headless: bool,
    image_mode: str,
    progress_every: float,
    listeners: list | None = None,
    epochs: int | None = None,
) -> int:
    """Launch, show, wait; returns the exit code (0 finished or stopped, 1 failed or crashed)."""
    from diffdash.distributed.launch import launch
    from diffdash.distributed.world import threads_per_worker
    from diffdash.machine.devices import available_cores

    per_worker = threads_per_worker(config.threads, nproc, available_cores())
    log = run.workers_log
    click.echo(f"{nproc} workers × {per_worker} threads (torchrun; their output: {log})")
    if not headless:
        try:
            from diffdash.ui.workers_app import run_workers_app
        except ImportError:
            headless = True
        else:
            state = run_workers_app(
                run, config, resume=resume, image_mode=image_mode, listeners=listeners,
                start=lambda: launch(run.path, nproc, threads_per_worker=per_worker, max_restarts=max_restarts,
                                     resume=resume, epochs=epochs, log_path=log),
            )  # fmt: skip
            return 0 if state in ("finished", "stopped") else 1
    proc = launch(
        run.path, nproc, threads_per_worker=per_worker, max_restarts=max_restarts, resume=resume, epochs=epochs,
        log_path=log,
    )  # fmt: skip
    return follow_headless(run, config, proc, resume=resume, listeners=listeners, progress_every=progress_every)


def follow_headless(run: RunDir, config: RunConfig, proc, *, resume: bool, listeners, progress_every: float) -> int:
    from diffdash.controls import Controls
    from diffdash.distributed.control_file import ControlMirror
    from diffdash.distributed.follow import FolderFollower
    from diffdash.runs.headless import HeadlessPrinter

    controls = Controls()
    mirror = ControlMirror(controls, run.path).start()
    follower = FolderFollower(run, from_end=resume)
    printer = HeadlessPrinter(every_s=progress_every, config=config.to_dict(), run_dir=run)
    printer.start_ticker()
    told = [printer, *(listeners or [])]

    ending = WorkersEnding(proc, say=printer.console.print)

    def on_signal(_signum, _frame):
        if controls.stop.is_set():
            printer.console.print("[yellow]aborting: stopping torchrun and its workers[/]")
            ending.end_now()
            return
        printer.console.print("[yellow]stopping every worker after this step (again to abort)…[/]")
        controls.stop.set()
        ending.stop_requested()

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        while True:
            done = proc.poll() is not None
            for event in follower.read():
                for listener in told:
                    listener(event)
            if done:
                break
            ending.check()
            time.sleep(FOLLOW_S)
    finally:
        ending.finish()  # torchrun never outlives us (its workers die with it: their parent-death signal)
        mirror.close()
        printer.close()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    state = follower.final_state()
    if state == "crashed" and controls.stop.is_set():
        state = mark_stopped(run)
    return report_end(run, state, proc.returncode)


class WorkersEnding:
    """A stop the workers do not honour within STOP_GRACE_S (stuck starting, stopped, hung in a collective)
    ends torchrun: SIGTERM, then SIGKILL after KILL_GRACE_S. A second Ctrl-C or SIGTERM does it at once."""

    def __init__(self, proc, say: Callable[[str], None]):
        self.proc = proc
        self.say = say
        self.stop_by: float | None = None
        self.kill_by: float | None = None

    def stop_requested(self) -> None:
        self.stop_by = time.monotonic() + STOP_GRACE_S

    def end_now(self) -> None:
        if self.kill_by is None and self.proc.poll() is None:
            self.proc.terminate()
            self.kill_by = time.monotonic() + KILL_GRACE_S

    def check(self) -> None:
        now = time.monotonic()
        if self.stop_by is not None and now > self.stop_by and self.kill_by is None:
            self.say(f"[yellow]the workers did not stop within {STOP_GRACE_S:.0f} s: ending torchrun[/]")
            self.end_now()
        if self.kill_by is not None and now > self.kill_by and self.proc.poll() is None:
            self.proc.kill()

    def finish(self) -> None:
        if self.proc.poll() is None:
            self.end_now()
            try:
                self.proc.wait(KILL_GRACE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def mark_stopped(run: RunDir) -> str:
    """The workers were ended after a stop request, before rank 0 could record it: the run is stopped (and
    resumable from its last checkpoint), not running or crashed."""
    from diffdash.fsutil import read_json

    try:
        status = read_json(run.status_path)
        status = status if isinstance(status, dict) else {}
        run.write_status({**status, "state": "stopped", "error": None, "ended": time.time()})
    except (OSError, ValueError):
        return "crashed"
    return "stopped"


def report_end(run: RunDir, state: str, returncode: int | None) -> int:
    if state == "stopped":
        click.echo(f"stopped; continue with: diffdash resume {run.id}")
    elif state == "crashed":
        click.echo(
            f"the workers ended without finishing (torchrun exit {returncode}; see {Path(run.path) / 'workers.log'}); "
            f"continue with: diffdash resume {run.id}",
            err=True,
        )
        reason = crash_reason(Path(run.path))
        if reason:
            click.echo(f"  {reason}", err=True)
    return 0 if state in ("finished", "stopped") else 1


WORKER_ERROR = re.compile(r"^\[rank(\d+)\]: ([\w.]*(?:Error|Exception)\b.*)$")
FULL_BELOW = 1 << 20  # bytes free: a checkpoint or a metrics line no longer fits


def crash_reason(run_path: Path) -> str | None:
    """Why the workers died, in one line: a full disk (their own messages could not be written, workers.log
    sits on the same disk), else the last error a worker logged, rank 0's before a peer's (a peer's is
    mostly "connection closed" after rank 0 died)."""
    try:
        if shutil.disk_usage(run_path).free < FULL_BELOW:
            return f"the disk holding {run_path} is full: free some space, then resume"
        with open(run_path / "workers.log", encoding="utf-8", errors="replace") as f:
            errors = [m for m in map(WORKER_ERROR.match, f.read().splitlines()[-400:]) if m]
    except OSError:
        return None
    if not errors:
        return None
    rank0 = [m for m in errors if m.group(1) == "0"]
    last = (rank0 or errors)[-1]
    return f"rank {last.group(1)}: {last.group(2)[:300]}"
