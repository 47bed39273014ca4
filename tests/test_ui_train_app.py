"""The real dashboard training a real (tiny) run on the bundled MNIST subset, driven by Pilot."""

from __future__ import annotations

import threading
import time

from pilot_support import halfcell, wait_for

from diffdash.store import RunDir
from diffdash.ui.screens import ConfirmScreen
from diffdash.ui.train_app import TrainApp
from diffdash.ui.widgets.event_line import EventLine
from diffdash.ui.widgets.loss_chart import LossChart
from diffdash.ui.widgets.sample_image import SampleImage


def test_footer_lists_the_training_keys_right_after_quit():
    """The keys that matter most while training come first, before browsing keys a narrow footer may cut."""
    merged = TrainApp._merge_bindings().key_to_bindings
    shown = [key for key, bindings in merged.items() if any(b.show for b in bindings)]
    assert shown == ["t", "l", "m", "a", "q", "x", "p", "s", "c", "left", "right", "v", "f", "question_mark"]


async def test_training_in_dashboard_then_quit_stops_within_5s(tmp_path, small_data, tiny_config):
    """The chart fills, a grid appears, q + y stops the engine in under 5 s: run stopped, checkpointed."""
    run = RunDir.create(tmp_path, "ui")
    config = tiny_config(epochs=1000, train_limit=256, val_limit=64, batch_size=32)  # still training when the keys come
    app = TrainApp(run, config, data=small_data, image_mode="halfcell", image_cls=halfcell())
    async with app.run_test(size=(100, 30)) as pilot:
        chart = app.query_one(LossChart)
        assert await wait_for(pilot, lambda: chart.points_drawn > 3), "the chart never got points"
        grid = app.query_one(SampleImage)
        assert await wait_for(pilot, lambda: grid.path is not None), "no sample grid appeared"
        shown = int(grid.path.stem.split("_")[1])  # training may be epochs further on by now
        assert grid.path.name == f"epoch_{shown:04d}.png" and f"epoch {shown}" in grid._caption_text
        assert app.view.epochs and app.view.epochs[0]["val_loss"] > 0
        assert app.training
        await pilot.press("q")
        await pilot.pause(0.1)
        assert app.training, "q alone must only ask"
        t0 = time.monotonic()
        await pilot.press("y")
        assert await wait_for(pilot, lambda: not app.is_running or app.final_state is not None, timeout=10)
        stop_s = time.monotonic() - t0
    assert app.final_state == "stopped"
    assert stop_s < 5.0, f"stopping took {stop_s:.1f} s"
    assert run.read_status()["state"] == "stopped"
    assert run.last_checkpoint.is_file()
    assert run.read_events()[0][-1]["event"] == "stopped"

    # `diffdash resume` opens the same dashboard: the earlier history is shown and training finishes
    done = run.read_status()["epoch"]
    config = tiny_config(epochs=done + 1, train_limit=256, val_limit=64, batch_size=32)
    app = TrainApp(run, config, data=small_data, resume=True, image_mode="halfcell", image_cls=halfcell())
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: app.final_state is not None, timeout=120)
        await pilot.pause(0.2)
        assert app.state() == "finished"
        assert [e["epoch"] for e in app.view.epochs] == list(range(1, done + 2))
        assert app.view.steps.view()[0]["step"][0] == 1  # the steps before the stop are still charted
        await pilot.press("q")
    assert run.read_status()["state"] == "finished"


async def test_keys_pause_sample_checkpoint_and_stop_keeps_app_open(tmp_path, small_data, tiny_config):
    run = RunDir.create(tmp_path, "keys")
    config = tiny_config(epochs=1000, train_limit=256, val_limit=64, batch_size=32)  # still training when the keys come
    app = TrainApp(run, config, data=small_data, image_mode="unicode", image_cls=halfcell())
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.view.last.get("step", 0) >= 2)
        await pilot.press("p")
        assert await wait_for(pilot, lambda: run.read_status().get("paused") is True, timeout=20)
        assert app.state() == "paused"
        paused_step = run.read_status()["step"]  # the engine's own word: the view may lag a draw tick
        await pilot.pause(0.6)
        assert run.read_status()["step"] == paused_step, "training went on while paused"
        assert app.view.last["step"] <= paused_step
        await pilot.press("s", "c", "p")  # a grid now, a checkpoint now, then resume
        assert await wait_for(pilot, lambda: any("_step_" in p.name for _, p in run.samples()), timeout=60)
        assert await wait_for(pilot, lambda: run.last_checkpoint.is_file(), timeout=30)
        await pilot.press("l", "m", "a")  # chart toggles while training must not crash the redraw
        chart = app.query_one(LossChart)
        assert not chart.log_scale and not chart.smoothing and chart.x_axis == "images"
        # the engine's `say` runs in its thread: its last line reaches the event line as a message
        traceback = "Traceback (most recent call last):\nValueError: from the engine"
        said = threading.Thread(target=app.say, args=(traceback,))
        said.start()
        said.join()
        events = app.query_one("#events")
        assert await wait_for(pilot, lambda: "ValueError: from the engine" in str(events.render()), timeout=10)
        assert "Traceback" not in str(events.render())
        await pilot.press("x", "z", "enter")  # the question stays until it is answered
        assert app.training and isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        assert await wait_for(pilot, lambda: app.final_state is not None, timeout=10)
        assert app.is_running, "x stops training but keeps the dashboard open"
        assert app.state() == "stopped"
        await pilot.press("q")  # no question once training is over
        await pilot.pause(0.2)
    assert run.read_status()["state"] == "stopped"


async def test_failed_training_shows_the_error_and_stays_open(tmp_path, small_data, tiny_config):
    """A loss that blows up (absurd learning rate) fails the run; the dashboard says why and stays open."""
    run = RunDir.create(tmp_path, "nan")
    config = tiny_config(epochs=5, train_limit=256, val_limit=64, batch_size=32, lr=1e12)
    app = TrainApp(run, config, data=small_data, image_mode="halfcell", image_cls=halfcell())
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.final_state is not None, timeout=60)
        await pilot.pause(0.3)
        assert app.is_running and app.state() == "failed"
        assert "loss became" in app.view.error and "at step" in app.view.error
        assert "run failed" in str(app.query_one("#events").render())
        await pilot.press("q")
        await pilot.pause(0.2)
    assert app.final_state == "failed" and run.read_status()["state"] == "failed"


async def test_first_frame_says_loading_with_totals_from_the_config(tmp_path, tiny_config):
    """No data handed in: the dashboard draws at once and loads MNIST in the engine's thread."""
    from diffdash.ui.panels import ProgressPanel

    run = RunDir.create(tmp_path, "start")
    config = tiny_config(epochs=1000, train_limit=256, val_limit=64, batch_size=32)  # still running when looked at
    app = TrainApp(run, config, data=None, image_mode="halfcell", image_cls=halfcell())
    async with app.run_test(size=(100, 30)) as pilot:
        first = dict(app.query_one(ProgressPanel).figures)  # drawn in on_mount, before the engine has said anything
        assert first["phase"] == "loading the bundled MNIST subset …"
        assert (first["epochs"], first["steps"]) == (1000, 1000 * 8)
        assert app.state() == "starting"
        assert await wait_for(pilot, lambda: app.view.last.get("step", 0) >= 1, timeout=120)
        assert app.state() == "running"
        # the panel redraws on the next poll of the run folder, a moment after the view has the step
        assert await wait_for(pilot, lambda: app.query_one(ProgressPanel).figures["phase"] is None, timeout=30)
        await pilot.press("ctrl+c")
        assert await wait_for(pilot, lambda: not app.is_running, timeout=30)


async def test_validation_and_sampling_show_progress_and_a_grid_comes_inside_the_epoch(
    tmp_path, small_data, tiny_config
):
    from diffdash.ui.panels import ProgressPanel

    run = RunDir.create(tmp_path, "phases")
    # a wider net than the other tests': validation must last long enough to be seen on a fast machine
    config = tiny_config(
        epochs=1, train_limit=256, val_limit=1000, batch_size=32, sample_every="3steps", n_hidden=[64, 128, 128, 64]
    )
    events = []
    app = TrainApp(run, config, data=small_data, image_mode="halfcell", image_cls=halfcell(), listeners=[events.append])
    seen: set[str] = set()
    async with app.run_test(size=(120, 36)) as pilot:
        grid = app.query_one(SampleImage)

        def look() -> bool:
            text = str(app.query_one(ProgressPanel).render())
            seen.update(w for w in ("validating", "sampling") if w in text)
            return app.final_state is not None

        assert await wait_for(pilot, lambda: grid.path is not None and "_step_" in grid.path.name, timeout=120)
        assert "epoch 1 step" in grid._caption_text and app.view.epochs == [], "the grid came before the epoch ended"
        assert await wait_for(pilot, look, timeout=120)
    assert "validating" in seen, "validation ran without the dashboard saying so"
    validating = [e for e in events if e["event"] == "progress" and e["phase"] == "validating"]
    assert [e["done"] for e in validating] == list(range(0, 1000, 32)) and validating[0]["total"] == 1000
    assert any(e["event"] == "progress" and e["phase"] == "sampling" for e in events)


async def test_ctrl_c_stops_after_the_step_checkpoints_and_leaves(tmp_path, small_data, tiny_config):
    run = RunDir.create(tmp_path, "ctrlc")
    config = tiny_config(epochs=1000, train_limit=256, val_limit=64, batch_size=32)  # still training when the keys come
    app = TrainApp(run, config, data=small_data, image_mode="halfcell", image_cls=halfcell())
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.view.last.get("step", 0) >= 2)
        events_line = app.query_one(EventLine)
        await pilot.press("ctrl+c")
        assert await wait_for(pilot, lambda: not app.is_running, timeout=30), "Ctrl-C did not leave"
    assert app.final_state == "stopped" and run.read_status()["state"] == "stopped"
    assert run.last_checkpoint.is_file()
    assert run.read_events()[0][-1]["event"] == "stopped"
    assert f"resume with diffdash resume {run.id}" in events_line.recent[0]


async def test_the_request_notes_leave_the_event_line_once_answered(tmp_path, small_data, tiny_config):
    """`s` and `c` say "grid requested…" / "checkpoint requested…"; once the grid and checkpoint come, the
    line says so instead of still claiming they are on their way."""
    run = RunDir.create(tmp_path, "asked")
    config = tiny_config(epochs=1000, train_limit=4096, val_limit=64, batch_size=32, sample_every="1000")
    app = TrainApp(run, config, data=small_data, image_mode="halfcell", image_cls=halfcell())
    async with app.run_test(size=(120, 36)) as pilot:
        assert await wait_for(pilot, lambda: app.view.last.get("step", 0) >= 1)
        line = app.query_one(EventLine)
        await pilot.press("p")  # paused, the engine cannot answer before the notes are looked at
        assert await wait_for(pilot, lambda: run.read_status().get("paused") is True, timeout=30)
        await pilot.press("s")
        await pilot.press("c")
        assert any(r.startswith("grid requested") for r in line.recent)
        assert any(r.startswith("checkpoint requested") for r in line.recent)
        await pilot.press("p")
        done = ("grid written", "checkpoint saved")
        assert await wait_for(pilot, lambda: all(any(r.startswith(d) for r in line.recent) for d in done), timeout=60)
        assert not [r for r in line.recent if "requested" in r], list(line.recent)
        await pilot.press("ctrl+c")
        assert await wait_for(pilot, lambda: not app.is_running, timeout=30)


async def test_command_palette_offers_the_apps_own_commands(tmp_path, small_data, tiny_config):
    from textual.command import CommandPalette

    from diffdash.ui.widgets.chart_keys import AppCommands

    run = RunDir.create(tmp_path, "palette")
    # long enough that training is still running when the palette is searched, even on a fast machine
    config = tiny_config(epochs=1000, train_limit=256, val_limit=64, batch_size=32)
    app = TrainApp(run, config, data=small_data, image_mode="halfcell", image_cls=halfcell())
    async with app.run_test(size=(120, 36)) as pilot:
        assert await wait_for(pilot, lambda: app.view.last.get("step", 0) >= 1)
        await pilot.press("ctrl+p")
        assert await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), timeout=10)
        titles = [title for title, _, _ in AppCommands(app.screen_stack[0], None).commands()]
        for wanted in ("Sample a preview grid now", "Checkpoint now", "Pause / resume training", "Stop training"):
            assert any(t.startswith(wanted) for t in titles), (wanted, titles)
        assert any("log / linear" in t for t in titles), "the chart's commands are in the palette too"
        await pilot.press(*"preview grid now")
        await pilot.pause(0.5)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: any("_step_" in p.name for _, p in run.samples()), timeout=60)
        await pilot.press("ctrl+c")
        assert await wait_for(pilot, lambda: not app.is_running, timeout=30)
