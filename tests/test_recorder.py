"""The training package's seams: the recorder as the one writer of a run folder (also of a run that never
started), the null recorder that writes nothing, and the one checkpoint format, old files included."""

from __future__ import annotations

import torch
from pilot_support import halfcell, wait_for

from diffdash.checkpoint import RESUME_KEYS, load_checkpoint
from diffdash.store import RunDir
from diffdash.training import Engine
from diffdash.training.recorder import NullRecorder
from diffdash.training.state import TrainingState
from diffdash.ui.train_app import TrainApp

VOLATILE = ("time", "seconds", "images_per_s", "val_seconds", "path")


def damaged_run(tmp_path, config) -> RunDir:
    """A run folder whose last.pt is not a checkpoint: resuming it fails before the first step."""
    run = RunDir.create(tmp_path, "damaged", config=config.to_dict())
    run.last_checkpoint.write_bytes(b"not a checkpoint at all")
    return run


def test_a_run_that_cannot_start_is_recorded_as_failed(tmp_path, small_data, tiny_config):
    config = tiny_config(epochs=1)
    run = damaged_run(tmp_path, config)
    heard, said = [], []
    assert Engine(run, config, data=small_data, listeners=[heard.append], say=said.append).run(resume=True) == "failed"
    status = run.read_status()
    assert status["state"] == "failed" and "last.pt is unreadable" in status["error"] and status["ended"]
    assert status["started"] and status["pid"], "what the folder knew before stays"
    failed = [e for e in heard if e["event"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"] == status["error"]
    assert run.read_events()[0] == [], "metrics.jsonl holds what was trained: nothing"
    assert "CheckpointError" in said[-1], "the traceback is said"


async def test_the_dashboard_shows_a_run_that_cannot_start(tmp_path, small_data, tiny_config):
    """The engine records the failure (the app writes nothing); the dashboard shows it and stays open."""
    config = tiny_config(epochs=1)
    run = damaged_run(tmp_path, config)
    app = TrainApp(run, config, data=small_data, resume=True, image_mode="halfcell", image_cls=halfcell())
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.final_state is not None, timeout=60)
        await pilot.pause(0.3)
        assert app.is_running and app.state() == "failed" and "unreadable" in app.view.error
    status = run.read_status()
    assert status["state"] == "failed" and "last.pt is unreadable" in status["error"]


def test_a_null_recorder_trains_the_same_and_writes_nothing(tmp_path, small_data, tiny_config):
    config = tiny_config(epochs=1, sample_every="2steps")
    written, quiet = RunDir.create(tmp_path, "written"), RunDir.create(tmp_path, "quiet")
    before = sorted(p.relative_to(quiet.path) for p in quiet.path.rglob("*"))
    heard = []
    assert Engine(written, config, data=small_data).run() == "finished"
    assert Engine(quiet, config, data=small_data, recorder=NullRecorder(quiet, [heard.append])).run() == "finished"
    assert sorted(p.relative_to(quiet.path) for p in quiet.path.rglob("*")) == before

    def strip(events):
        kept = [e for e in events if e["event"] not in ("progress", "system")]  # samples come by the clock
        return [{k: v for k, v in e.items() if k not in VOLATILE} for e in kept]

    assert strip(heard) == strip(written.read_events()[0])
    assert all(e["path"] is None for e in heard if e["event"] == "sample")


def test_one_checkpoint_format_and_old_files_still_resume(tmp_path, small_data, tiny_config):
    config = tiny_config(epochs=1, ema=0.9)
    run = RunDir.create(tmp_path, "r")
    assert Engine(run, config, data=small_data).run() == "finished"
    saved = load_checkpoint(run.last_checkpoint)
    assert set(RESUME_KEYS) <= set(saved)
    state = TrainingState.create(config, "cpu")
    state.load_state_dict(saved)
    again = state.state_dict()
    assert set(again) == set(saved) and again["step"] == saved["step"] == 4
    assert all(torch.equal(again["model"][k], saved["model"][k]) for k in saved["model"])

    old = {k: v for k, v in saved.items() if k in RESUME_KEYS}  # a file from before EMA, perm and best val existed
    state = TrainingState.create(config, "cpu")
    state.load_state_dict(old)
    assert (state.epoch, state.step, state.perm, state.best_val, state.epoch_end_due) == (1, 4, None, None, None)
    assert state.clock.before == 0.0 and state.ema is not None and state.ema.updates == 0
