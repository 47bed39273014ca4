"""The engine on real (bundled) MNIST: determinism, exact resume, failures, cooperative stop."""

from __future__ import annotations

import math

from diffdash.runs.history import read_history
from diffdash.store import RunDir
from diffdash.training import Engine


def train(root, run_id, config, data, listeners=(), resume=False, controls=None):
    run = RunDir(root / run_id) if resume else RunDir.create(root, run_id)
    engine = Engine(run, config, data=data, listeners=list(listeners), controls=controls)
    return run, engine.run(resume=resume)


def losses(run):
    h = read_history(run)
    return h.step, h.step_loss, h.train_loss, h.val_loss


def test_run_folder_contents(tmp_path, small_data, tiny_config):
    run, state = train(tmp_path, "r", tiny_config(), small_data)
    assert state == "finished"
    cfg = run.read_config()
    assert cfg["parameters"] > 0 and cfg["data"]["name"] == "mnist-small" and cfg["resolved_device"] == "cpu"
    assert cfg["versions"]["torch"]
    status = run.read_status()
    assert status["state"] == "finished" and status["epoch"] == 2 and status["best_val"] is not None
    assert [e for e, _ in run.samples()] == [1, 2]
    assert run.last_checkpoint.is_file()
    h = read_history(run)
    assert h.epoch == [1, 2] and len(h.step) == 2 * math.ceil(256 / 64)
    assert all(math.isfinite(v) for v in h.val_loss)


def test_same_seed_same_metrics(tmp_path, small_data, tiny_config):
    a, _ = train(tmp_path, "a", tiny_config(), small_data)
    b, _ = train(tmp_path, "b", tiny_config(), small_data)
    c, _ = train(tmp_path, "c", tiny_config(seed=1), small_data)
    assert losses(a) == losses(b)
    assert losses(a) != losses(c)
    assert a.samples()[-1][1].read_bytes() == b.samples()[-1][1].read_bytes()


def test_stop_mid_epoch_then_resume_equals_uninterrupted(tmp_path, small_data, tiny_config):
    config = tiny_config(epochs=3)
    full, _ = train(tmp_path, "full", config, small_data)

    from diffdash.controls import Controls

    controls = Controls()
    seen = []

    def stop_at_step_6(event):
        seen.append(event["event"])
        if event["event"] == "step" and event["step"] == 6:  # mid-way through epoch 2 (4 steps an epoch)
            controls.stop.set()

    part, state = train(tmp_path, "part", config, small_data, [stop_at_step_6], controls=controls)
    assert state == "stopped"
    status = part.read_status()
    assert status["state"] == "stopped" and status["step"] == 6, "stop is honoured within one step"
    _, state = train(tmp_path, "part", config, small_data, resume=True)
    assert state == "finished"
    assert losses(part) == losses(full)


def test_non_finite_loss_fails_naming_the_step(tmp_path, small_data, tiny_config):
    run, state = train(tmp_path, "nan", tiny_config(lr=1e12, epochs=3), small_data)
    assert state == "failed"
    status = run.read_status()
    assert status["state"] == "failed" and "at step" in status["error"]
    step = int(status["error"].split("at step ")[1].split()[0])
    assert status["step"] == step - 1
    events = run.events()
    assert events[-1]["event"] == "failed"


def test_sample_now_and_checkpoint_now(tmp_path, small_data, tiny_config):
    from diffdash.controls import Controls

    controls = Controls()

    def ask(event):
        if event["event"] == "step" and event["step"] == 2:
            controls.sample_now.set()
            controls.checkpoint_now.set()

    run, _ = train(tmp_path, "r", tiny_config(epochs=1), small_data, [ask], controls=controls)
    names = sorted(p.name for p in run.samples_dir.glob("*.png"))
    assert names == ["epoch_0001.png", "epoch_0001_step_000002.png"]
    kinds = [(e["event"], e["step"]) for e in run.events() if e["event"] in ("checkpoint", "sample")]
    assert ("checkpoint", 2) in kinds and ("sample", 2) in kinds


def test_bf16_trains_on_cpu(tmp_path, small_data, tiny_config):
    run, state = train(tmp_path, "bf", tiny_config(precision="bf16", epochs=1), small_data)
    assert state == "finished"
    assert all(math.isfinite(v) for v in read_history(run).step_loss)


def test_a_stop_between_an_epoch_and_its_grid_is_made_good_on_resume(tmp_path, small_data, tiny_config):
    """Stopped as epoch 1 ends (its grid and evaluation not yet drawn): resume draws them, then goes on."""
    from diffdash.controls import Controls

    config = tiny_config(epochs=2, sample_every="1", eval_every=1, eval_n=16)
    controls = Controls()

    def stop_as_epoch_1_ends(event):
        if event["event"] == "epoch" and event["epoch"] == 1:
            controls.stop.set()

    run, state = train(tmp_path, "cut", config, small_data, [stop_as_epoch_1_ends], controls=controls)
    assert state == "stopped" and not (run.samples_dir / "epoch_0001.png").exists()
    _, state = train(tmp_path, "cut", config, small_data, resume=True)
    assert state == "finished"
    assert [e for e, _ in run.samples()] == [1, 2], "epoch 1's grid was drawn on resume"
    events, _ = run.read_events(0)
    evals = [e["epoch"] for e in events if e["event"] == "eval"]
    assert evals == [1, 2], evals
    full, _ = train(tmp_path, "full", config, small_data)
    assert losses(run) == losses(full), "training itself is exactly the uninterrupted run's"


def test_a_stop_in_validation_keeps_the_epochs_training_time_on_resume(tmp_path, small_data, tiny_config):
    """Stopped while the epoch's last step is done and validation runs: the resumed epoch still reports the
    training seconds and images/s of its steps (not zero because no step ran after the resume)."""
    from diffdash.controls import Controls

    config = tiny_config(epochs=1)
    controls = Controls()

    def stop_in_validation(event):
        if event["event"] == "progress" and event.get("phase", "").startswith("validating"):
            controls.stop.set()

    run, state = train(tmp_path, "v", config, small_data, [stop_in_validation], controls=controls)
    assert state == "stopped" and not [e for e in run.read_events(0)[0] if e["event"] == "epoch"]
    _, state = train(tmp_path, "v", config, small_data, resume=True)
    assert state == "finished"
    epoch = next(e for e in run.read_events(0)[0] if e["event"] == "epoch")
    steps = [e for e in run.read_events(0)[0] if e["event"] == "step"]
    assert epoch["seconds"] > 0 and epoch["images_per_s"] > 0, epoch
    assert epoch["seconds"] <= steps[-1]["time"] + 1e-3, "no more than the run's training time so far"
