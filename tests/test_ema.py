"""EMA of the weights: the update rule, and an engine that checkpoints and resumes it exactly."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner
from torch.optim.swa_utils import AveragedModel

from diffdash.checkpoint import load_checkpoint
from diffdash.controls import Controls
from diffdash.options.run_config import ConfigError
from diffdash.runs.history import read_history
from diffdash.store import RunDir
from diffdash.training import Engine
from diffdash.training.ema import EMA


def test_update_rule_with_warmup():
    net = torch.nn.Linear(2, 1)
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema = EMA(net, 0.9)
    assert isinstance(ema, AveragedModel), "torch's own averaging, not a hand-written copy"
    expected = net.weight.detach().clone()
    for n in range(30):
        with torch.no_grad():
            net.weight.add_(1.0)
        d = min(0.9, (1 + n) / (10 + n)) if n else 0.0  # the first update copies the weights
        expected = d * expected + (1 - d) * net.weight.detach()
        ema.update(net)
    assert torch.allclose(ema.module.weight, expected, atol=1e-6)
    assert not torch.equal(ema.module.weight, net.weight), "the average lags the weights"
    assert not ema.module.weight.requires_grad
    clone = EMA(net, 0.5)
    clone.restore(ema.checkpoint())
    assert clone.decay == 0.9 and clone.updates == 30 and torch.equal(clone.module.weight, ema.module.weight)
    with pytest.raises(ValueError, match="between 0 and 1"):
        EMA(net, 1.0)


def test_checkpoint_written_by_the_hand_written_class_still_loads():
    """The layout {"decay", "updates", "weights"} of checkpoints saved before the move to AveragedModel."""
    net = torch.nn.Linear(3, 2)
    old = {"decay": 0.99, "updates": 500, "weights": {k: v + 1.0 for k, v in net.state_dict().items()}}
    ema = EMA(net, 0.5)
    ema.restore(old)
    assert ema.decay == 0.99 and ema.updates == 500
    assert torch.equal(ema.module.weight, old["weights"]["weight"])
    ema.update(net)  # continues the average where it was in its warm-up, does not restart it with a copy
    d = min(0.99, 501 / 510)
    expected = d * old["weights"]["weight"] + (1 - d) * net.weight.detach()
    assert torch.allclose(ema.module.weight, expected, atol=1e-6) and ema.updates == 501


def train(root, run_id, config, data, resume=False, controls=None, listeners=()):
    run = RunDir(root / run_id) if resume else RunDir.create(root, run_id)
    return run, Engine(run, config, data=data, controls=controls, listeners=list(listeners)).run(resume=resume)


def test_ema_is_checkpointed_and_resumed_exactly(tmp_path, small_data, tiny_config):
    config = tiny_config(ema=0.9)
    full, _ = train(tmp_path, "full", config, small_data)
    controls = Controls()

    def stop_mid_epoch_2(e):
        if e["event"] == "step" and e["step"] == 6:
            controls.stop.set()

    part, state = train(tmp_path, "part", config, small_data, controls=controls, listeners=[stop_mid_epoch_2])
    assert state == "stopped"
    assert load_checkpoint(part.last_checkpoint)["ema"]["updates"] == 6
    train(tmp_path, "part", config, small_data, resume=True)
    a, b = load_checkpoint(full.last_checkpoint), load_checkpoint(part.last_checkpoint)
    assert a["ema"]["updates"] == b["ema"]["updates"] == 8
    for key, value in a["ema"]["weights"].items():
        assert torch.equal(value, b["ema"]["weights"][key]), key
    assert not torch.equal(a["ema"]["weights"]["blocks.0.net.0.weight"], a["model"]["blocks.0.net.0.weight"])
    assert read_history(full).step_loss == read_history(part).step_loss
    samples = read_history(full).samples
    assert samples and all(s["weights"] == "ema" for s in samples), "previews say which weights drew them"
    assert full.samples()[-1][1].read_bytes() == part.samples()[-1][1].read_bytes()


def test_ema_config_and_cli_errors(runs_dir, tiny_config):
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        tiny_config(ema=1.5)
    with pytest.raises(ConfigError, match="need an EMA"):
        tiny_config(preview_weights="ema")
    assert tiny_config(ema=0.99).weights_used() == "ema" and tiny_config().weights_used() == "raw"
    assert tiny_config(ema=0.99, preview_weights="raw").weights_used() == "raw"
    from diffdash.cli import cli

    for args, needle in (
        (["--ema", "1"], "--ema"),
        (["--preview-weights", "best"], "auto, ema, raw"),
        (["--eval-every", "0"], "--eval-every"),
        (["--eval-n", "1"], "at least 2"),
    ):
        result = CliRunner().invoke(cli, ["new", "--dataset", "mnist-small", "--headless", *args])
        assert result.exit_code == 2, (args, result.output)
        assert needle in result.output, (args, result.output)
    assert not runs_dir.exists() or not any(runs_dir.iterdir()), "nothing half-written"
