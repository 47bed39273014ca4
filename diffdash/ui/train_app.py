"""`diffdash new` / `diffdash resume` in the dashboard: the engine trains in a Textual thread worker.

The engine's listener only appends events to an inbox under a lock, and for anything but a step
posts a wake-up message; the UI thread drains the inbox on its draw timer (5 a second) or on that
message, so the per-step cost in the engine thread is one lock and one append. Stop, pause,
sample-now and checkpoint-now are `Controls` events that the engine checks at every step and inside
sampling, so the UI never blocks on training.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from typing import Any

from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from diffdash.config import RunConfig
from diffdash.store import RunDir
from diffdash.ui.dashboard import DashboardApp
from diffdash.ui.screens import ConfirmScreen
from diffdash.ui.widgets.event_line import EventLine

STOP_WAIT_S = 4.5


class EngineEvents(Message):
    """Wake-up: the inbox has events."""


class TrainApp(DashboardApp):
    BINDINGS = [
        Binding("x", "stop_training", "stop", tooltip="Stop training (checkpoint, run marked stopped)"),
        Binding("p", "pause", "pause", tooltip="Pause / resume training"),
        Binding("s", "sample_now", "sample", tooltip="Sample a preview grid now"),
        Binding("c", "checkpoint_now", "ckpt", tooltip="Checkpoint now"),
    ]

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

        self.mode = "train"
        self.train_config = config
        self.data = data
        self.resume = resume
        self.controls = Controls()
        self.final_state: str | None = None
        self._inbox: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = False
        self._bindings_final = False
        self.exit_when_stopped = False  # Ctrl-C or SIGTERM: stop, checkpoint, then leave
        self.view.state = "starting"
        first = "loading data" if data is None else "starting"  # until the engine's first event
        self.view.meter.phase = {"phase": first, "done": None, "total": None}

    def on_mount(self) -> None:
        super().on_mount()  # reads what the folder already holds (a resumed run's history)
        self.engine_worker = self.train()

    def on_unmount(self) -> None:
        """However the app ends (quit, crash, a test's teardown), the engine must not outlive it."""
        self.controls.stop.set()
        self.controls.paused.clear()

    # ---------------------------------------------------------------- engine thread
    def listener(self, event: dict[str, Any]) -> None:
        """Called in the engine thread for every event: cheap, never blocks on the UI."""
        with self._lock:
            self._inbox.append(event)
        if event["event"] != "step":  # steps wait for the next draw tick (5 a second); the rest wake the UI now
            self.post_message(EngineEvents())

    def say(self, message: str) -> None:
        self.listener({"event": "say", "text": message.strip().splitlines()[-1] if message.strip() else ""})

    @work(thread=True, exclusive=True, name="engine")
    def train(self) -> str:
        from diffdash.engine import Engine

        engine = Engine(
            self.run_dir,
            self.train_config,
            listeners=[self.listener, *self.extra_listeners],
            say=self.say,
            data=self.data,
            controls=self.controls,
        )
        try:
            state = engine.run(resume=self.resume)
        except Exception as exc:  # noqa: BLE001 - setup errors (device, checkpoint) are shown, not lost
            state = "failed"
            self.listener({"event": "failed", "epoch": 0, "step": 0, "error": f"{type(exc).__name__}: {exc}"})
            if not self.run_dir.status_path.exists():
                self.run_dir.write_status({"state": "failed", "error": str(exc), "ended": time.time()})
        self.final_state = state
        self.post_message(EngineEvents())
        return state

    def draw(self, force: bool = False) -> None:
        """Drain first: steps that arrived inside the post throttle window must not wait for the next event."""
        self.on_engine_events(None)
        super().draw(force)

    def on_engine_events(self, _message: EngineEvents | None) -> None:
        with self._lock:
            events, self._inbox = self._inbox, []
        if self.final_state is not None and not self._bindings_final:
            self._bindings_final = True
            self.refresh_bindings()  # the training keys leave the footer
            if self.exit_when_stopped:
                self.exit(self.final_state)
        if not events:
            return
        said = [e for e in events if e["event"] == "say"]
        for e in said:
            if e["text"]:
                self.query_one(EventLine).push(e["text"])
        self.apply_events([e for e in events if e["event"] != "say"])

    @property
    def training(self) -> bool:
        return self.final_state is None

    def state(self) -> str:
        if (self._stopping or self.exit_when_stopped) and self.training:
            return "stopping"
        if self.training and self.controls.paused.is_set():
            return "paused"
        return super().state()

    # ---------------------------------------------------------------- keys
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.TRAINING_ACTIONS:
            return self.training and not self._stopping  # hidden once training is over
        return super().check_action(action, parameters)

    def action_pause(self) -> None:
        paused = not self.controls.paused.is_set()
        if paused:
            self.controls.paused.set()
        else:
            self.controls.paused.clear()
        self.query_one(EventLine).push("paused" if paused else "resumed")
        self.dirty |= {"header"}

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
        self.dirty.add("header")
        self.controls.stop.set()
        self.controls.paused.clear()

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
        self._stopping = True
        self.refresh_bindings()
        self.dirty.add("header")
        self.query_one(EventLine).push("stopping: finishing this step and writing a checkpoint…")
        self.controls.stop.set()
        self.controls.paused.clear()
        # a timeout or a failed worker: quit anyway, the run's status says what happened
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.engine_worker.wait(), STOP_WAIT_S)
        self.on_engine_events(EngineEvents())
        self._stopping = False
        self.dirty.add("header")


def run_training_app(
    run: RunDir,
    config: RunConfig,
    *,
    data: Any = None,
    resume: bool = False,
    image_mode: str = "auto",
    listeners: list | None = None,
) -> str:
    """Train `run` inside the dashboard; returns the final state (finished, stopped or failed)."""
    from diffdash.ui.widgets.sample_image import image_class

    image_cls = image_class(image_mode)  # queries the terminal: must happen before the app starts
    app = TrainApp(
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
