"""`Engine(run, config, ...).run(resume=...)`: how the commands, the dashboard and the tests train a run.

It sets up (the session, the training state and its checkpoint, the run folder's opening lines) and
hands over to the loop. Whatever fails before the first step is recorded by the recorder as the run's
failure, in the dashboard and headless alike, so no caller writes the run folder itself.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from diffdash.checkpoint import load_checkpoint
from diffdash.controls import Controls
from diffdash.distributed.group import is_peer_failure
from diffdash.distributed.world import World, threads_per_worker
from diffdash.fsutil import is_disk_full
from diffdash.machine.devices import apply_threads, available_cores
from diffdash.mnist.load import MnistData
from diffdash.options.run_config import RunConfig
from diffdash.store import RunDir
from diffdash.training.compiled import compiled_parallel
from diffdash.training.loop import Trainer
from diffdash.training.losses import LOSS_READ_EVERY
from diffdash.training.one_process import step_for
from diffdash.training.previews import Previews
from diffdash.training.recorder import Listener, Recorder, quiet
from diffdash.training.session import describe, open_session, opening
from diffdash.training.state import TrainingState


class Engine:
    def __init__(
        self,
        run: RunDir,
        config: RunConfig,
        *,
        listeners: list[Listener] | None = None,
        say: Callable[[str], None] = quiet,
        data: MnistData | None = None,
        controls: Controls | None = None,
        recorder: Recorder | None = None,
        loss_read_every: int | None = None,
        world: World | None = None,
        backend: str | None = None,
    ):
        """`recorder`: who writes the run folder (default: a `Recorder` of `run` telling `listeners`).
        `loss_read_every`: steps between reads of the losses kept on the device (default: 1 on the CPU,
        where a read stalls nothing, else LOSS_READ_EVERY). `world`, `backend`: this process's place among
        several data-parallel workers (diffdash.worker), and their process group's backend."""
        self.run_dir = run
        self.config = config
        self.say = say
        self.data = data
        self.controls = controls or Controls()
        self.recorder = recorder if recorder is not None else Recorder(run, listeners or [], say=say)
        self.loss_read_every = loss_read_every
        self.trainer: Trainer | None = None
        self.world = world or World()
        self.backend = backend

    @property
    def state(self) -> TrainingState | None:
        return self.trainer.state if self.trainer is not None else None

    def run(self, resume: bool = False) -> str:
        """Train until done, stopped or failed; returns the final state ("finished", "stopped", "failed")."""
        try:
            self.trainer = self.start(resume)
        except Exception as exc:  # noqa: BLE001 - a run that cannot start is recorded as failed, not left running
            if self.world.distributed and is_peer_failure(exc):
                raise  # another worker is gone: torchrun restarts the group or gives up, the run is not over
            if not is_disk_full(exc):
                self.say(traceback.format_exc())
            return self.recorder.setup_failed(exc)
        return self.trainer.train()

    def start(self, resume: bool) -> Trainer:
        """Everything before the first step; a resume without a checkpoint (killed before its first) restarts."""
        cfg, recorder = self.config, self.recorder
        session = open_session(cfg, self.data, self.say, recorder.progress)
        session.world = self.world
        if self.world.distributed:  # the node's cores are shared between its workers
            session.threads = apply_threads(threads_per_worker(cfg.threads, self.world.local_size, available_cores()))
        state = TrainingState.create(cfg, session.device)
        if resume and self.run_dir.last_checkpoint.is_file():
            state.load_state_dict(load_checkpoint(self.run_dir.last_checkpoint, session.device))
        recorder.bind(state)
        previews = Previews(session, recorder, self.controls, state.clock.elapsed())
        compiled = {}
        if cfg.compile:
            recorder.progress("compiling the network")
            parallel, result = compiled_parallel(self.world, state.net, session, self.say)
            state.clock.exclude(result.get("seconds", 0.0))  # setup, not training time
            compiled = {"compile_result": result}
        else:
            parallel = step_for(self.world, state.net, session.device)
        description = {**describe(session, state), **self.world_record(), **compiled}
        recorder.open(resume, description, epochs=cfg.epochs, steps_per_epoch=session.steps_per_epoch)
        previews.forward_strip()
        recorder.announce(resume, opening(session, state, resume))
        read_every = self.loss_read_every or (1 if session.device == "cpu" else LOSS_READ_EVERY)
        if self.world.distributed:
            read_every = 1  # every worker reads each step, so a non-finite loss stops them all at the same one
        return Trainer(session, state, recorder, previews, self.controls, self.say, read_every, parallel)

    def world_record(self) -> dict[str, Any]:
        """What config.json says about the workers, when several train the run."""
        if not self.world.distributed:
            return {}
        return {"world_size": self.world.size, "backend": self.backend, "nodes": self.world.nodes}
