"""`diffdash new` / `diffdash resume` in the dashboard: the engine trains in a Textual thread worker.

The engine's listener only appends events to an inbox under a lock, and for anything but a step
posts a wake-up message (messages.py); the UI thread drains the inbox on its draw timer (5 a second)
or on that message, so the per-step cost in the engine thread is one lock and one append. Stop, pause,
sample-now and checkpoint-now are `Controls` events that the engine checks at every step and inside
sampling, so the UI never blocks on training. The worker's result is the final state; Textual's
`Worker.StateChanged` brings it to the UI thread, where `final_state` (a reactive) takes the keys away.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from typing import Any

from textual import work
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from diffdash.options.run_config import RunConfig
from diffdash.store import RunDir
from diffdash.ui.messages import EngineEvents, EngineSaid
from diffdash.ui.run_dashboard import QUIT_KEYS, VIEW_KEYS, RunDashboard
from diffdash.ui.screens import ConfirmScreen
from diffdash.ui.widgets.event_line import EventLine

STOP_WAIT_S = 4.5


class TrainApp(RunDashboard):
    """The dashboard plus the engine: the training keys are declared here and nowhere else."""

    BINDINGS = [
        *QUIT_KEYS,
        Binding("x", "stop_training", "stop", tooltip="Stop training (checkpoint, run marked stopped)"),
        Binding("p", "pause", "pause", tooltip="Pause / resume training"),
        Binding("s", "sample_now", "sample", tooltip="Sample a preview grid now"),
        Binding("c", "checkpoint_now", "ckpt", tooltip="Checkpoint now"),
        *VIEW_KEYS,
    ]
    TRAINING_ACTIONS = ("stop_training", "pause", "sample_now", "checkpoint_now")

    paused: reactive[bool] = reactive(False, init=False)  # `p`; the engine waits on controls.paused
    stopping: reactive[bool] = reactive(False, init=False, bindings=True)  # `x`/`q` answered yes: keys go
    exit_when_stopped: reactive[bool] = reactive(False, init=False)  # Ctrl-C or SIGTERM: stop, checkpoint, leave
    final_state: reactive[str | None] = reactive(None, init=False, bindings=True)  # the worker's result

    def __init__(
        self,
        run: RunDir,
        config: RunConfig,
        *,
        data: Any = None,
        resume: bool = False,
        image_mode: str = "auto",
        image_cls: type[Widget] | None = None,
        listeners: list | None = None,
    ):
        super().__init__(run, image_mode=image_mode, image_cls=image_cls, config=config.to_dict())
        self.extra_listeners = list(listeners or [])  # e.g. a TensorBoard log, called in the engine thread
        from diffdash.controls import Controls  # not the engine: torch loads in the worker, after the first frame

        self.train_config = config
        self.data = data
        self.resume = resume
        self.controls = Controls()
        self._inbox: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.view.state = "starting"
        first = "loading data" if data is None else "starting"  # until the engine's first event
        self.view.meter.phase = {"phase": first, "done": None, "total": None}

    def on_mount(self) -> None:
        super().on_mount()  # reads what the folder already holds (a resumed run's history)
        self.engine_worker = self.train()

    def on_unmount(self) -> None:
        """However the app ends (quit, crash, a test's teardown), the engine must not outlive it."""
        self.release_engine()

    def release_engine(self) -> None:
        """Tell the engine to stop; a paused engine is let go so that it can."""
        self.set_reactive(TrainApp.paused, False)
        self.controls.paused.clear()
        self.controls.stop.set()

    # ---------------------------------------------------------------- engine thread
    def listener(self, event: dict[str, Any]) -> None:
        """Called in the engine thread for every event: cheap, never blocks on the UI."""
        with self._lock:
            self._inbox.append(event)
        if event["event"] != "step":  # steps wait for the next draw tick (5 a second); the rest wake the UI now
            self.post_message(EngineEvents())

    def say(self, message: str) -> None:
        """The engine's `say` (engine thread): its last line goes to the event line."""
        if message.strip():
            self.post_message(EngineSaid(message.strip().splitlines()[-1]))

    @work(thread=True, exclusive=True, name="engine")
    def train(self) -> str:
        from diffdash.training import Engine

        engine = Engine(
            self.run_dir,
            self.train_config,
            listeners=[self.listener, *self.extra_listeners],
            say=self.say,
            data=self.data,
            controls=self.controls,
        )
        return engine.run(resume=self.resume)  # a setup failure too is recorded (and heard) by the engine

    def draw(self, force: bool = False) -> None:
        """Drain first: steps that arrived inside the post throttle window must not wait for the next event."""
        self.drain()
        super().draw(force)

    def drain(self) -> None:
        with self._lock:
            events, self._inbox = self._inbox, []
        if events:
            self.apply_events(events)

    def on_engine_events(self, _message: EngineEvents) -> None:
        self.drain()

    def on_engine_said(self, message: EngineSaid) -> None:
        self.query_one(EventLine).push(message.text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self.engine_worker:
            self.worker_ended()

    def worker_ended(self) -> None:
        """The engine's worker is done: its result is the run's final state (an escaped error: failed)."""
        worker = self.engine_worker
        if self.final_state is None and worker.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self.drain()
            self.final_state = worker.result if worker.state == WorkerState.SUCCESS else "failed"

    def watch_final_state(self, state: str | None) -> None:
        if state is not None and self.exit_when_stopped:
            self.exit(state)

    def watch_paused(self, paused: bool) -> None:
        if paused:
            self.controls.paused.set()
        else:
            self.controls.paused.clear()
        self.query_one(EventLine).push("paused" if paused else "resumed")
        self.dirty.add("header")

    def watch_stopping(self) -> None:
        self.dirty.add("header")

    def watch_exit_when_stopped(self) -> None:
        self.dirty.add("header")

    @property
    def training(self) -> bool:
        return self.final_state is None

    def state(self) -> str:
        if (self.stopping or self.exit_when_stopped) and self.training:
            return "stopping"
        if self.training and self.paused:
            return "paused"
        return super().state()

    # ---------------------------------------------------------------- keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.TRAINING_ACTIONS:
            return self.training and not self.stopping  # hidden once training is over
        return super().check_action(action, parameters)

    def action_pause(self) -> None:
        self.paused = not self.paused

    def action_sample_now(self) -> None:
        self.controls.sample_now.set()
        self.query_one(EventLine).push("grid requested: drawing at the next step…")

    def action_checkpoint_now(self) -> None:
        self.controls.checkpoint_now.set()
        self.query_one(EventLine).push("checkpoint requested…")

    async def action_quit(self) -> None:
        if not self.training:
            self.exit(self.final_state)
            return
        question = (
            f"Stop training and quit?\nThe run is checkpointed; continue it with: diffdash resume {self.run_dir.id}"
        )
        self.push_screen(ConfirmScreen(question), self._quit_confirmed)

    async def action_interrupt(self) -> None:
        """Ctrl-C, as the README says: stop after this step, checkpoint, mark the run stopped, leave.

        A second Ctrl-C leaves at once (the engine still stops: unmounting sets its stop flag).
        """
        if not self.training or self.exit_when_stopped:
            self.exit(self.final_state)
            return
        self.interrupt()

    def interrupt(self) -> None:
        """Stop, and leave once the engine has checkpointed; SIGTERM does the same."""
        self.exit_when_stopped = True
        self.query_one(EventLine).push("stopping: finishing this step, writing a checkpoint… (Ctrl-C again: leave now)")
        self.release_engine()

    def action_stop_training(self) -> None:
        if self.training:
            self.push_screen(ConfirmScreen("Stop training? (the dashboard stays open)"), self._stop_confirmed)

    async def _quit_confirmed(self, yes: bool | None) -> None:
        if yes:
            await self.stop_engine()
            self.exit(self.final_state)

    async def _stop_confirmed(self, yes: bool | None) -> None:
        if yes:
            await self.stop_engine()

    async def stop_engine(self) -> None:
        """Ask the engine to stop (it checkpoints and marks the run stopped) and wait for it, bounded."""
        self.stopping = True
        self.query_one(EventLine).push("stopping: finishing this step and writing a checkpoint…")
        self.release_engine()
        # a timeout or a failed worker: quit anyway, the run's status says what happened. Shielded: a timeout
        # must not cancel the worker's task, or its end (and the run's final state) would never be seen
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self.engine_worker.wait()), STOP_WAIT_S)
        self.worker_ended()  # its StateChanged message comes after this handler: the state is needed now
        self.stopping = False


def run_training_app(
    run: RunDir,
    config: RunConfig,
    *,
    data: Any = None,
    resume: bool = False,
    image_mode: str = "auto",
    listeners: list | None = None,
    app_class: Any = None,
) -> str:
    """Train `run` inside the dashboard; returns the final state (finished, stopped or failed).
    `app_class`: a TrainApp subclass (or factory) to run instead, e.g. the one that follows torchrun's workers."""
    from diffdash.ui.widgets.sample_image import image_class

    image_cls = image_class(image_mode)  # queries the terminal: must happen before the app starts
    app = (app_class or TrainApp)(
        run, config, data=data, resume=resume, image_mode=image_mode, image_cls=image_cls, listeners=listeners
    )

    def on_term(_signum, _frame) -> None:
        app.call_later(app.interrupt)  # the handler runs on the app's own thread, between its callbacks

    old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        app.run()
    finally:
        signal.signal(signal.SIGTERM, old_term)
    if app.final_state is None:  # the app died before the engine ended: make sure it stops
        app.controls.stop.set()
    state = app.final_state or "stopped"
    if state == "stopped":
        print(f"stopped; continue with: diffdash resume {run.id}")
    elif state == "failed":
        print(f"failed: {app.view.error or 'see the run status'} (run {run.id})")
    else:
        print(f"{state}: {run.id}")
    return state
