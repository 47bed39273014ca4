"""The engine's faster training step computes what the plain coursework loop computes, and says how it ran."""

from __future__ import annotations

import math

import pytest
import torch

from diffdash.models import build_network
from diffdash.runs.history import read_history
from diffdash.store import RunDir
from diffdash.training import Engine
from diffdash.training.session import VAL_SEED_OFFSET


def reference_epoch(config, data) -> tuple[list[float], float]:
    """Today's loop written plainly: NCHW network, default Adam, a float() per step, validation under no_grad."""
    from diffdash.diffusion import build_process
    from diffdash.mnist.load import to_tensor

    net = build_network(config)
    process = build_process(config, "cpu")
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(config.seed)
    train_x = to_tensor(data.train_images[: config.train_limit], "cpu")
    val_x = to_tensor(data.test_images[: config.val_limit], "cpu")
    perm = torch.randperm(len(train_x), generator=gen)
    bs, losses = config.batch_size, []
    for b in range(math.ceil(len(train_x) / bs)):
        loss = process.loss(net, train_x[perm[b * bs : (b + 1) * bs]], gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        losses.append(float(loss.detach()))
        opt.step()
    net.eval()
    vgen = torch.Generator().manual_seed(config.seed + VAL_SEED_OFFSET)
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(val_x), bs):
            total += float(process.loss(net, val_x[i : i + bs], vgen)) * len(val_x[i : i + bs])
    return losses, total / len(val_x)


def test_fp32_engine_equals_the_plain_loop(tmp_path, small_data, tiny_config):
    config = tiny_config(epochs=1, precision="fp32", n_hidden=[8, 16, 8], train_limit=512)
    run = RunDir.create(tmp_path, "r")
    assert Engine(run, config, data=small_data).run() == "finished"
    losses, val = reference_epoch(config, small_data)
    h = read_history(run)
    assert len(h.step_loss) == len(losses) == 8
    assert h.step_loss == pytest.approx(losses, rel=1e-4)
    assert h.val_loss[0] == pytest.approx(val, rel=1e-4)
    assert h.train_loss[0] == pytest.approx(sum(losses) / len(losses), rel=1e-4)


def batched_reads(run: RunDir, config, **kw) -> Engine:
    """The engine as it runs on a GPU: losses read 16 steps at a time (on the CPU it reads each at once)."""
    return Engine(run, config, loss_read_every=16, **kw)


def step_events(run: RunDir) -> list[tuple]:
    return [(e["epoch"], e["step"], e["images"], e["loss"]) for e in run.events() if e["event"] == "step"]


def test_batched_loss_reads_write_the_same_metrics(tmp_path, small_data, tiny_config):
    config = tiny_config(epochs=2, precision="fp32", train_limit=640)  # 10 steps an epoch
    a, b = RunDir.create(tmp_path, "each"), RunDir.create(tmp_path, "batched")
    seen = []
    assert Engine(a, config, data=small_data).run() == "finished"
    assert batched_reads(b, config, data=small_data, listeners=[seen.append]).run() == "finished"
    assert step_events(a) == step_events(b) and [s for _, s, _, _ in step_events(b)] == list(range(1, 21))
    ha, hb = read_history(a), read_history(b)
    assert ha.train_loss == hb.train_loss and ha.val_loss == hb.val_loss
    order = [e["event"] for e in seen if e["event"] in ("step", "epoch")]
    assert order == ["step"] * 10 + ["epoch"] + ["step"] * 10 + ["epoch"], "every step is emitted before its epoch"


def test_batched_reads_report_the_first_non_finite_loss_at_its_step(tmp_path, small_data, tiny_config):
    config = tiny_config(lr=1e12, epochs=3, precision="fp32")
    each, batched = RunDir.create(tmp_path, "each"), RunDir.create(tmp_path, "batched")
    assert Engine(each, config, data=small_data).run() == "failed"
    assert batched_reads(batched, config, data=small_data).run() == "failed"
    sa, sb = each.read_status(), batched.read_status()
    assert sa["error"] == sb["error"] and "at step" in sb["error"]
    step = int(sb["error"].split("at step ")[1].split()[0])
    assert sb["step"] == step - 1, "the counters stop at the last finite step"
    assert step_events(batched) == step_events(each) and all(math.isfinite(e[3]) for e in step_events(batched))


def test_config_records_precision_its_reason_and_threads(tmp_path, small_data, tiny_config):
    from diffdash.machine.devices import native_bf16

    before = torch.get_num_threads()
    try:
        run = RunDir.create(tmp_path, "auto")
        assert Engine(run, tiny_config(epochs=1, threads=1), data=small_data).run() == "finished"
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    cfg = run.read_config()
    native, why = native_bf16("cpu")
    assert cfg["precision"] == "auto" and cfg["resolved_precision"] == ("bf16" if native else "fp32")
    assert cfg["precision_reason"] == f"auto: {why}"
    assert cfg["threads"] == 1 and cfg["resolved_threads"] == 1
