"""`--eval-every K`: the engine's hook that scores samples every K epochs and returns an eval event.

Kept out of the training package so the loop only decides *when*; this decides *how*. The classifier is loaded
(or trained, once, and cached) on first use. Samples are drawn in fp32 from `sample_seed`, so
`diffdash eval RUN --epoch N -n <eval_n> --seed <sample_seed>` reproduces a training-time figure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from diffdash.metrics.classifier import Classifier, get_classifier
from diffdash.metrics.evaluate import Timer, auto_eval_n, eval_event, generate, score
from diffdash.mnist.load import MnistData
from diffdash.options.run_config import RunConfig


def sampling_passes(config: RunConfig, sampler: str, steps: int | None) -> int:
    """Network passes per sample: a strided sampler's step count, else the full chain."""
    from diffdash.diffusion.samplers import passes

    return passes(config.model, sampler, steps, config.n_T)


def resolve_eval_n(config: RunConfig, n_train: int) -> int:
    if config.eval_n is not None:
        return config.eval_n
    passes = sampling_passes(config, config.sampler, config.sample_steps)
    return auto_eval_n(n_train, config.eval_every or 1, passes)


class TrainingEval:
    def __init__(self, config: RunConfig, data: MnistData, n_train: int, say: Callable[[str], None]):
        self.config = config
        self.data = data
        self.n = resolve_eval_n(config, n_train)
        self.say = say
        self._classifier: Classifier | None = None
        self._class_stats: dict | None = None  # class-conditional runs: the real test digits' per-class statistics
        self.progress: Callable[[int, int, float], None] | None = None  # the classifier's training, if it must

    def due(self, epoch: int) -> bool:
        every = self.config.eval_every
        return every is not None and (epoch % every == 0 or epoch == self.config.epochs)

    def classifier(self) -> Classifier:
        if self._classifier is None:
            self._classifier = get_classifier(self.data, self.config.data_dir, say=self.say, progress=self.progress)
        return self._classifier

    def evaluate(self, process: Any, net: nn.Module, weights: str, should_stop: Callable[[], bool]) -> dict[str, Any]:
        cfg = self.config
        clf = self.classifier()
        cond: dict[str, Any] = {}
        if cfg.cond == "class":  # every digit equally often, at the run's preview guidance
            from diffdash.diffusion.guided import balanced_labels

            cond = {"labels": balanced_labels(self.n), "guidance": cfg.guidance}
        with Timer() as t:
            x = generate(
                process,
                net,
                self.n,
                sampler=cfg.sampler,
                steps=cfg.sample_steps,
                seed=cfg.sample_seed,
                should_stop=should_stop,
                **cond,
            )
            quality = score(clf, x)
            extra = self.conditional(clf, x, cond["labels"]) if cond else {}
        return eval_event(
            quality,
            sampler=cfg.sampler,
            steps=sampling_passes(cfg, cfg.sampler, cfg.sample_steps),
            weights=weights,
            seconds=t.seconds,
            seed=cfg.sample_seed,
            **extra,
        )

    def conditional(self, clf: Classifier, x: Any, labels: Any) -> dict[str, Any]:
        """Accuracy and per-digit figures beside FID (metrics/conditional.py); the real digits' per-class
        statistics are computed once."""
        from diffdash.metrics.conditional import class_statistics, conditional_fields

        if self._class_stats is None:
            self._class_stats = class_statistics(clf, self.data.test_images, self.data.test_labels)
        return {"guidance": self.config.guidance, **conditional_fields(clf, x, labels, self._class_stats)}
