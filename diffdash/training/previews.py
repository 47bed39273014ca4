"""Sampling while training: preview grids (and the process's preview variants), the forward strip, and the
`--eval-every` scores. The loop decides when; this draws, and the recorder writes what is drawn.

Sampling honours a stop: the samplers call `should_stop` once per step, which also reports progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from diffdash.controls import Controls
from diffdash.options.cadence import PreviewClock, parse_cadence
from diffdash.runs.progress import CLASSIFIER_PHASE, PREVIEW_N
from diffdash.training.recorder import Recorder
from diffdash.training.session import Session
from diffdash.training.state import TrainingState

COND_PREVIEW_PER_DIGIT = 4  # a class-conditional run's preview: 10 rows (digits 0..9) of 4


class Previews:
    def __init__(self, session: Session, recorder: Recorder, controls: Controls, now: float):
        self.session = session
        self.config = session.config
        self.recorder = recorder
        self.controls = controls
        self.clock = PreviewClock(parse_cadence(self.config.sample_every), now)

    def forward_strip(self) -> None:
        """samples/forward.png: one validation digit along t, for processes that draw one."""
        process, val_x = self.session.process, self.session.val_x
        self.recorder.forward_strip(lambda: process.forward_strip(val_x[:1]))

    def draw(self, state: TrainingState, epoch: int, step: int | None) -> float:
        """A preview grid (and any variants) from the sampling weights; `step` for one inside an epoch.
        Returns the seconds spent sampling, which the epoch's images/s leaves out."""
        cfg, s = self.config, self.session
        net = state.sampling_net()
        net.eval()
        started = time.monotonic()
        should_stop = self._sampling_check()
        n, nrow, cond = PREVIEW_N, 4, {}
        if cfg.cond == "class":  # one row per digit, at the run's preview guidance
            from diffdash.diffusion.guided import digit_rows

            n, nrow = 10 * COND_PREVIEW_PER_DIGIT, COND_PREVIEW_PER_DIGIT
            cond = {"labels": digit_rows(nrow), "guidance": cfg.guidance}
        try:
            with s.precision_context():
                x = s.process.sample(
                    net, n, sampler=cfg.sampler, steps=cfg.sample_steps, seed=cfg.sample_seed,
                    should_stop=should_stop, **cond,
                )  # fmt: skip
                variants = s.process.preview_variants(net, PREVIEW_N, seed=cfg.sample_seed, should_stop=should_stop)
        finally:
            state.net.train()
        seconds = time.monotonic() - started
        self.clock.drawn(state.clock.elapsed())
        self.recorder.phase_done()
        path = self.recorder.grid(x, epoch, step, nrow=nrow)
        for variant, images in variants.items():
            nrow = 4 if len(images) == PREVIEW_N else len(images)  # else one strip
            self.recorder.grid(images, epoch, step, variant, nrow=nrow)
        self.recorder.emit(
            {
                "event": "sample",
                "path": path,
                "sampler": cfg.sampler,
                "sample_steps": cfg.sample_steps,
                "weights": cfg.weights_used(),
                "seconds": round(seconds, 3),
                **({"guidance": cfg.guidance} if cond else {}),
            }
        )
        return seconds

    def evaluate(self, state: TrainingState) -> None:
        """--eval-every: FID (MNIST classifier), digit histogram and confidence of fresh samples."""
        quality = self.session.quality
        if quality is None:
            return
        # the first evaluation trains the MNIST classifier (about a minute and a half, once): a phase the
        # dashboard, `watch` and `runs` show with its progress
        quality.progress = lambda step, total, _loss: self.recorder.progress(CLASSIFIER_PHASE, step, total)
        net = state.sampling_net()
        net.eval()
        try:
            event = quality.evaluate(
                self.session.process, net, self.config.weights_used(), should_stop=self.controls.should_stop
            )
        finally:
            state.net.train()
        self.recorder.emit(event)

    def _sampling_check(self) -> Callable[[], bool]:
        """The samplers call should_stop once per step: counting the calls reports sampling progress."""
        cfg, done = self.config, 0
        total = self.session.process.preview_passes(cfg.sampler, cfg.sample_steps)

        def check() -> bool:
            nonlocal done
            self.recorder.progress("sampling", done, total)
            done += 1
            return self.controls.should_stop()

        return check
