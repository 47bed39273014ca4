"""Learning rate and gradient norm of every step: recorded by real training, kept by History, drawn by `g`."""

from __future__ import annotations

import math

import pytest
from runs_data import RECORDED

from diffdash.runs.history import History, read_history
from diffdash.store import RunDir
from diffdash.store.events import well_formed


def test_total_grad_norm_is_the_norm_torch_clips_by():
    import torch

    from diffdash.training.step_figures import total_grad_norm

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.GELU(), torch.nn.Flatten(), torch.nn.Linear(4 * 26 * 26, 3)
    )
    assert total_grad_norm(net).item() == 0.0  # no gradient yet
    net(torch.randn(5, 1, 28, 28)).square().mean().backward()
    want = torch.nn.utils.clip_grad_norm_(net.parameters(), float("inf")).item()
    assert total_grad_norm(net).item() == pytest.approx(want, rel=1e-6)
    assert want > 0


def test_every_step_records_the_lr_and_the_norm_of_the_gradient_it_applied(small_data, tiny_config, tmp_path):
    """The reference is taken by an optimizer pre-step hook: the gradients exactly as Adam is about to use them."""
    import torch
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    from diffdash.training import Engine

    seen: list[float] = []

    def before_step(opt, _args, _kwargs):
        params = [p for g in opt.param_groups for p in g["params"]]
        seen.append(torch.nn.utils.clip_grad_norm_(params, float("inf")).item())

    config = tiny_config(epochs=1, lr=3e-4, train_limit=256, batch_size=64)
    run = RunDir.create(tmp_path, "figures")
    handle = register_optimizer_step_pre_hook(before_step)
    try:
        assert Engine(run, config, data=small_data).run() == "finished"
    finally:
        handle.remove()
    steps = [e for e in run.events() if e["event"] == "step"]
    assert len(steps) == len(seen) == 4
    assert all(well_formed(e) for e in steps)
    assert [e["lr"] for e in steps] == [3e-4] * 4
    assert [e["grad_norm"] for e in steps] == pytest.approx(seen, rel=1e-6)
    assert all(math.isfinite(e["grad_norm"]) and e["grad_norm"] > 0 for e in steps)

    h = read_history(run)
    x, y = h.figure_x("grad_norm")
    assert y == [e["grad_norm"] for e in steps] and x["step"] == [1, 2, 3, 4]
    assert x["epoch"] == [s / 4 for s in (1, 2, 3, 4)]
    assert h.figure_x("lr")[1] == [3e-4] * 4


def test_a_resume_forgets_the_figures_it_undid():
    h = History()
    for step in (1, 2, 3):
        h.apply({"event": "step", "step": step, "loss": 1.0, "lr": 1e-3, "grad_norm": float(step)})
    h.apply({"event": "resumed", "step": 2})
    h.apply({"event": "step", "step": 3, "loss": 1.0, "lr": 1e-3, "grad_norm": 30.0})
    assert h.figure_x("grad_norm")[1] == [1.0, 2.0, 30.0]


@pytest.mark.parametrize("name", ["small", "wide", "deep"])
def test_runs_recorded_before_the_figures_still_load_without_them(name):
    h = read_history(RunDir(RECORDED / name))
    assert len(h.steps) > 0 and h.epochs
    assert h.figure_x("grad_norm")[1] == [] and h.figure_x("lr")[1] == []
    assert h.figure_x("cpu_percent")[1] == []


def test_chart_views_of_a_run_with_and_without_figures():
    from diffdash.ui.chart_views import CHART_VIEWS, figure_series, next_view

    h = History()
    for step in (1, 2):
        h.apply({"event": "step", "step": step, "loss": 1.0, "lr": 2e-4, "grad_norm": 0.5 * step})
    h.apply({"event": "system", "step": 2, "cpu_percent": 150.0, "rss_bytes": 2**31, "gpu_mem_bytes": 2**30})
    [grad] = figure_series(h, "grad_norm")
    assert grad.name == "grad norm" and list(grad.y) == [0.5, 1.0] and list(grad.x["step"]) == [1, 2]
    rss, gpu = figure_series(h, "memory", prefix="small ")
    assert (rss.name, list(rss.y), gpu.name, list(gpu.y)) == ("small RSS", [2.0], "small GPU", [1.0])
    assert [s.name for s in figure_series(h, "cpu")] == ["CPU %"]
    assert figure_series(History(), "grad_norm") == []
    assert [next_view(v) for v in CHART_VIEWS] == [*CHART_VIEWS[1:], "loss"]
