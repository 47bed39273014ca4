"""The training dashboard for a run that torchrun's workers train (`diffdash new/resume --nproc N`).

The same screen and keys as `TrainApp`; only the engine thread differs. Instead of training in process it
starts torchrun, copies the keys into the run folder's control file (rank 0 reads it; the workers agree
at the next step) and feeds the dashboard the events the workers write, read back from the folder.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

from textual import work

from diffdash.options.run_config import RunConfig
from diffdash.store import RunDir
from diffdash.ui.train_app import TrainApp, run_training_app

FOLLOW_S = 0.2
STOPPED_WAIT_S = 60.0  # after the app closes: how long the workers get to checkpoint and stop


class WorkersApp(TrainApp):
    def __init__(self, run: RunDir, config: RunConfig, *, start: Callable[[], subprocess.Popen], **kw: Any):
        super().__init__(run, config, **kw)
        self.start_workers = start
        self.proc: subprocess.Popen | None = None

    @work(thread=True, exclusive=True, name="engine")
    def train(self) -> str:
        """Start torchrun from this thread (it stays alive while torchrun runs: the agent's parent-death
        signal is tied to it) and follow the folder until the workers are gone."""
        from diffdash.distributed.control_file import ControlMirror
        from diffdash.distributed.follow import FolderFollower

        mirror = ControlMirror(self.controls, self.run_dir.path).start()
        follower = FolderFollower(self.run_dir, from_end=True)  # the app has read the history on mount
        self.proc = self.start_workers()
        try:
            while True:
                done = self.proc.poll() is not None
                for event in follower.read():
                    self.listener(event)
                    for listener in self.extra_listeners:
                        listener(event)
                if done:
                    return follower.final_state()
                time.sleep(FOLLOW_S)
        finally:
            mirror.close()

    def read_system(self) -> None:
        """CPU and memory of torchrun and its workers together; this launcher only follows the folder. No CUDA
        figures: they would be this process's (none), and asking for them would put a CUDA context here."""
        from diffdash.ui.widgets.system_line import SystemLine, system_figures

        proc = self.proc
        pid = proc.pid if proc is not None and proc.poll() is None else None
        self.query_one(SystemLine).update_figures(system_figures(pid, tree=True))


def run_workers_app(run: RunDir, config: RunConfig, *, start: Callable[[], subprocess.Popen], **kw: Any) -> str:
    """Train `run` on torchrun's workers inside the dashboard; returns the final state."""
    holder: dict[str, WorkersApp] = {}

    def make(*args: Any, **kwargs: Any) -> WorkersApp:
        holder["app"] = WorkersApp(*args, start=start, **kwargs)
        return holder["app"]

    state = run_training_app(run, config, app_class=make, **kw)
    app = holder.get("app")
    if app is not None and app.proc is not None and app.proc.poll() is None:
        from diffdash.distributed.control_file import ControlState, write_control

        write_control(run.path, ControlState(stop=True))  # the app left first: the workers must still stop
        try:
            app.proc.wait(STOPPED_WAIT_S)
        except subprocess.TimeoutExpired:
            app.proc.terminate()
    return state
