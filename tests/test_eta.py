"""ETA and the run bar through validation, previews and evaluations (issue 24, point 12).

The events are a real recorded run's (tests/data/compare_runs/small: 3 epochs of 16 steps, a grid and an
evaluation at each epoch's end), fed to the one meter every view uses, with the phase reports the engine
sends between them.
"""

from __future__ import annotations

import pytest
from runs_data import RECORDED

from diffdash.runs.progress import RunProgress
from diffdash.store import RunDir

EVENTS = RunDir(RECORDED / "small").read_events()[0]
CONFIG = {"epochs": 3, "batch_size": 64, "n_train": 1024, "n_val": 500, "sample_steps": 10, "eval_every": 1}


def meter_until(kind: str, epoch: int, *, including: bool = True) -> RunProgress:
    """A meter fed the run's events up to the `kind` event of `epoch` (and it, when `including`), at clock
    reading 100."""
    meter = RunProgress(CONFIG)
    for e in EVENTS:
        if e["event"] == kind and e["epoch"] == epoch:
            if including:
                meter.apply(e, now=100.0)
            return meter
        meter.apply(e, now=100.0)
    raise AssertionError(f"no {kind} event in epoch {epoch}")


def progress(phase: str | None, done: int | None, total: int | None) -> dict:
    return {"event": "progress", "phase": phase, "done": done, "total": total}


def test_eta_counts_down_and_the_run_bar_moves_while_validating():
    meter = meter_until("epoch", 2, including=False)  # epoch 2's steps are done, its validation under way
    figures = []
    for i, done in enumerate((0, 100, 200, 300, 400)):
        meter.apply(progress("validating", done, 500), now=100.0 + i)
        figures.append(meter.figures(now=100.0 + i))
    etas = [f["eta"] for f in figures]
    assert all(a > b for a, b in zip(etas, etas[1:], strict=False)), etas
    fracs = [f["run_frac"] for f in figures]
    assert all(a < b for a, b in zip(fracs, fracs[1:], strict=False)), fracs
    assert [f["elapsed"] for f in figures] == sorted({f["elapsed"] for f in figures})  # the clock runs on


def test_eta_counts_down_through_a_preview_and_the_evaluation_after_it():
    meter = meter_until("epoch", 2)
    etas = []
    for i, done in enumerate((0, 3, 6, 9)):
        meter.apply(progress("sampling", done, 10), now=100.0 + i)
        etas.append(meter.figures(now=100.0 + i)["eta"])
    meter.apply(progress(None, None, None), now=104.0)  # the preview is over
    sample = next(e for e in EVENTS if e["event"] == "sample" and e["epoch"] == 2)
    meter.apply(sample, now=104.0)
    etas += [meter.figures(now=104.0 + s)["eta"] for s in (0.0, 0.5, 1.0)]  # the evaluation (1.7 s): no phase reports
    assert all(a > b for a, b in zip(etas, etas[1:], strict=False)), etas


def test_eta_is_not_zero_while_the_last_epoch_draws_its_grid():
    """The last epoch's event came, its grid and evaluation had not: the ETA said 00:00 through both."""
    meter = meter_until("epoch", 3)
    meter.apply(progress("sampling", 3, 10), now=101.0)
    eta = meter.figures(now=101.0)["eta"]
    eval_seconds = next(e["seconds"] for e in EVENTS if e["event"] == "eval" and e["epoch"] == 2)
    assert eta >= eval_seconds  # the evaluation after the grid is still ahead, and most of the grid


def test_first_eta_includes_the_previews_and_evaluations_ahead():
    """Before any validation, preview or evaluation is seen, their cost is estimated, evaluations included."""
    first_step = [e for e in EVENTS if e["event"] == "step"][:4]
    with_eval, without = RunProgress(CONFIG), RunProgress({**CONFIG, "eval_every": None})
    for e in [EVENTS[0], *first_step]:
        with_eval.apply(e, now=100.0)
        without.apply(e, now=100.0)
    rate = with_eval.images_per_s()
    assert with_eval.figures(now=100.0)["eta"] - without.figures(now=100.0)["eta"] == pytest.approx(
        3 * 0.1 * 1024 / rate
    )  # three evaluations, each ~10 % of an epoch's training (what --eval-every's default sample count costs)


def test_elapsed_runs_and_eta_moves_when_phases_come_without_a_clock():
    """With several workers the launcher learns the phase from status.json: progress events without `time`."""
    meter = meter_until("epoch", 3)
    a = meter.figures(now=101.0)
    meter.apply(progress("sampling", 10, 50), now=102.0)
    b = meter.figures(now=103.0)
    meter.apply(progress("sampling", 30, 50), now=104.0)
    c = meter.figures(now=105.0)
    assert a["elapsed"] < b["elapsed"] < c["elapsed"]
    assert b["eta"] > c["eta"] > 0
    assert b["phase"] == "sampling 10/50"


def test_no_progress_line_after_the_closing_summary():
    """With several workers torchrun takes a while to exit after the run ends: the ticker must fall silent."""
    import io

    from rich.console import Console

    from diffdash.runs.headless import HeadlessPrinter

    out = io.StringIO()
    printer = HeadlessPrinter(Console(file=out, width=200), every_s=1.0, config=CONFIG)
    for e in EVENTS:
        printer(e)
    printer({**EVENTS[-1], "event": "finished"})
    said = out.getvalue()
    printer.tick(now=printer._last_line + 60)
    assert out.getvalue() == said


def test_a_cold_preview_reports_its_total(tiny_config, small_data):
    """Cold previews draw the grid, reconstructions and the other samplers' grids: their progress has a total
    (alg1 at 7 of 20 steps: strided walks from two starts, the other samplers, direct's single step)."""
    sampler, steps = "alg1", 7
    from diffdash.diffusion import build_process
    from diffdash.mnist.load import run_tensors
    from diffdash.models import build_network

    config = tiny_config(model="cold", n_T=20, sampler=sampler, sample_steps=steps, prior_t=10, prior_components=2)
    process = build_process(config, "cpu")
    process.attach_data(*run_tensors(small_data, 256, 64))
    net = build_network(config)
    calls = []
    process.sample(net, 2, sampler=sampler, steps=config.sample_steps, seed=0, should_stop=lambda: calls.append(1))
    process.preview_variants(net, 2, seed=0, should_stop=lambda: calls.append(1))
    assert process.preview_passes(sampler, config.sample_steps) == len(calls)
