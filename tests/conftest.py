"""Shared fixtures: the bundled real-MNIST subset, tiny configs that train in seconds, and the real runs and
classifier that several test files read, each made once per session (training them is the slow part)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def small_data():
    from diffdash.mnist.load import load_bundled

    return load_bundled()


def _tiny_config(**overrides):
    from diffdash.options.run_config import RunConfig

    base = dict(
        n_hidden=[4, 8, 4],
        epochs=2,
        batch_size=64,
        n_T=100,
        dataset="mnist-small",
        train_limit=256,
        val_limit=128,
        device="cpu",
        sample_steps=5,
    )
    base.update(overrides)
    return RunConfig(**base).validate()


@pytest.fixture(scope="session")
def tiny_config():
    """Makes validated configs that train in seconds on the bundled subset: `tiny_config(epochs=1, ema=0.9)`."""
    return _tiny_config


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    path = tmp_path / "runs"
    monkeypatch.setenv("DIFFDASH_RUNS", str(path))
    return path


@pytest.fixture
def runs(runs_dir):
    """Copies of the recorded small, wide and deep runs in a fresh runs folder (a test may change them)."""
    from runs_data import recorded_runs

    return recorded_runs(runs_dir, ("small", "wide", "deep"))


@pytest.fixture(scope="session")
def small_classifier(tmp_path_factory):
    """(Classifier, cache folder): trained cheaply once, in a folder that doubles as the data cache (DIFFDASH_DATA)
    of runs evaluated in tests, so their evaluations find it instead of training the full one."""
    from metrics_support import CLASSIFIER_BATCH, CLASSIFIER_STEPS

    from diffdash.metrics.classifier import get_classifier
    from diffdash.mnist.load import load_bundled

    folder = tmp_path_factory.mktemp("classifier-cache")
    clf = get_classifier(load_bundled(), folder, max_steps=CLASSIFIER_STEPS, batch_size=CLASSIFIER_BATCH)
    return clf, folder


@pytest.fixture(scope="session")
def template_run(tmp_path_factory) -> Path:
    """A finished tiny run made through the CLI (`diffdash new`); copy it before changing it."""
    from fault_support import TINY, invoke

    from diffdash.store import RunDir

    root = tmp_path_factory.mktemp("template-runs")
    result = invoke("new", *TINY, "--epochs", "1", "--name", "base", runs=root)
    assert result.exit_code == 0, result.output
    RunDir(root / "base").release_lock()
    return root / "base"


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, small_data, tiny_config) -> Path:
    """A finished real (4,8,4) run trained by the engine in this session, so tests follow today's engine output."""
    from diffdash.store import RunDir
    from diffdash.training import Engine

    run = RunDir.create(tmp_path_factory.mktemp("trained"), "small")
    assert Engine(run, tiny_config(name="small", n_T=50, n_hidden=[4, 8, 4]), data=small_data).run() == "finished"
    return run.path


@pytest.fixture(scope="session")
def sampled_run(tmp_path_factory, small_data, tiny_config):
    """A finished real run whose recorder sampled CPU and memory after every step (every 5 s by default), so
    even a run this short, on a fast machine, has a history of `system` events (and, as every run now, lr and
    grad_norm per step)."""
    from diffdash.machine import usage as sysinfo
    from diffdash.store import RunDir
    from diffdash.training import Engine, system_samples

    mp = pytest.MonkeyPatch()
    mp.setattr(system_samples, "SYSTEM_EVERY_S", 0.0)
    mp.setattr(sysinfo, "MIN_WINDOW_S", 0.0)  # a CPU % from every pair of readings, however close
    try:
        run = RunDir.create(tmp_path_factory.mktemp("system"), "sampled")
        config = tiny_config(epochs=1, train_limit=256, batch_size=32, sample_steps=5)
        assert Engine(run, config, data=small_data).run() == "finished"
    finally:
        mp.undo()
    return run
