"""The network registry (diffdash/models): every network is one module that declares its own options and is
torch-free until its class is wanted, builds from a config, takes (x, t, y=None), trains under both processes,
is measured on the meta device; the registry's cnn is the coursework's CNN bit for bit."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from diffdash.diffusion import build_process
from diffdash.mnist.load import run_tensors
from diffdash.models import (
    NETWORKS,
    build_network,
    count_parameters,
    network_class,
    network_module,
    network_options,
    network_text,
    use_fast_layout,
)
from diffdash.options.run_config import RunConfig
from diffdash.options.table import OPTIONS

REFERENCE = Path(__file__).parent / "data" / "cnn_reference.json"
SMALL = {"cnn": {"n_hidden": [4, 8, 4]}, "unet": {"unet_channels": [8, 16, 16]}}  # faster; others: defaults


def small(net: str) -> dict:
    return SMALL.get(net, {})


def test_each_network_module_declares_its_options_and_imports_no_torch():
    """A new network is its module and its line in NETWORKS: the option table, --help, config.json and
    validation read its options from the module, which stays torch-free until its class is wanted."""
    declared = [o for net in NETWORKS for o in network_module(net).OPTIONS]
    assert list(network_options()) == declared == [o for o in OPTIONS if o.network]
    assert all(o.network == net for net in NETWORKS for o in network_module(net).OPTIONS)
    assert all(isinstance(network_module(net).LABEL, str) for net in NETWORKS)
    code = "import sys, diffdash.options.table, " + ", ".join(f"diffdash.models.{n}" for n in NETWORKS)
    code += "; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
    with pytest.raises(ValueError, match="unknown network 'resnet': choose one of cnn, unet"):
        network_module("resnet")


def test_the_classes_made_on_first_use_keep_their_module_names():
    """`from diffdash.models.unet import UNet` and pickle find the classes a network module makes lazily."""
    from diffdash.models.cnn import CNN
    from diffdash.models.unet import UNet

    assert CNN is network_class("cnn") and UNet is network_class("unet")
    assert f"{UNet.__module__}.{UNet.__qualname__}" == "diffdash.models.unet.UNet"
    again = pickle.loads(pickle.dumps(build_network(RunConfig(net="unet", **SMALL["unet"]).validate())))
    assert type(again) is UNet
    with pytest.raises(AttributeError, match="no attribute 'Resnet'"):
        _ = network_module("unet").Resnet


@pytest.mark.parametrize("net", list(NETWORKS))
def test_every_registered_network_builds_and_predicts_an_image(net):
    """A new network needs its module, its line in NETWORKS and an entry in SMALL here."""
    config = RunConfig(net=net, **small(net)).validate()
    model = build_network(config)
    assert isinstance(model, network_class(net))
    x, t = torch.randn(3, 1, 28, 28), torch.tensor([0.1, 0.5, 0.9])
    out = model(x, t)
    assert out.shape == x.shape
    assert not torch.allclose(model(x, t.flip(0)), out), "the time must change the output"
    same = build_network(config)  # the run's seed, not the global RNG, sets the weights
    torch.manual_seed(12345)
    assert all(torch.equal(a, b) for a, b in zip(same.state_dict().values(), model.state_dict().values(), strict=True))
    with pytest.raises(ValueError, match="built without classes"):
        model(x, t, torch.tensor([1, 2, 3]))


@pytest.mark.parametrize("net", list(NETWORKS))
def test_labels_add_to_the_time_embedding_when_built_with_classes(net):
    config = RunConfig(net=net, **small(net)).validate()
    model = build_network(config, num_classes=10)
    x, t = torch.randn(2, 1, 28, 28), torch.rand(2)
    a, b = model(x, t, torch.tensor([3, 3])), model(x, t, torch.tensor([3, 7]))
    assert torch.equal(a[0], b[0]) and not torch.allclose(a[1], b[1])
    assert count_parameters(model) > count_parameters(build_network(config))


@pytest.mark.parametrize("model_kind", ["ddpm", "cold"])
def test_unet_trains_under_both_processes(model_kind, small_data):
    """One step of DDPM's noise prediction and of cold diffusion's restoration: every weight gets a gradient."""
    config = RunConfig(model=model_kind, net="unet", unet_channels=[8, 16, 16], n_T=10, sampler="ddim")
    config.sampler = "alg2" if model_kind == "cold" else "ddim"
    config.validate()
    net, process = build_network(config), build_process(config, "cpu")
    train_x, val_x = run_tensors(small_data, 64, 16)
    x0 = train_x[:4]
    if model_kind == "cold":
        process.attach_data(train_x, val_x)
    loss = process.loss(net, x0, torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss)
    missing = [name for name, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing
    sample = process.sample(net, 2, sampler=config.sampler, steps=2)
    assert sample.shape == (2, 1, 28, 28) and torch.isfinite(sample).all()


def test_fast_layout_gives_the_unet_the_same_outputs():
    config = RunConfig(net="unet", unet_channels=[8, 16, 16]).validate()
    ref = build_network(config)
    fast = use_fast_layout(build_network(config), "cpu")
    assert fast.inp.weight.is_contiguous(memory_format=torch.channels_last)
    x, t = torch.randn(4, 1, 28, 28), torch.rand(4)
    torch.testing.assert_close(fast(x, t), ref(x, t), rtol=1e-4, atol=1e-5)


def test_sizes_come_from_the_module_on_the_meta_device():
    from diffdash.machine.memory_budget import network_size, training_bytes

    for net in NETWORKS:
        config = RunConfig(net=net, **small(net)).validate()
        assert network_size(config).parameters == count_parameters(build_network(config))
    cnn = RunConfig().validate()
    assert network_size(cnn).parameters == 291_217  # the coursework's figure
    assert network_size(cnn).activations == 3 * 96 * 784 + 784 + 6 * 128 + 16  # conv, norm, GELU a block; out; MLP
    narrow, wide = (RunConfig(net="unet", unet_channels=w).validate() for w in ([16, 32, 64], [32, 64, 128]))
    assert training_bytes(wide, 128, 1000) > 2 * training_bytes(narrow, 128, 1000) - 1000 * 784 * 4


def test_cnn_is_the_coursework_cnn_bit_for_bit(tmp_path, small_data):
    """The losses of every step and the final weights of the CNN before the registry (both norms, both
    processes), recorded in tests/data; equal to the last bit on the recording machine, to float rounding
    of another CPU's kernels elsewhere."""
    import hashlib

    from diffdash.store import RunDir
    from diffdash.training import Engine

    recorded = json.loads(REFERENCE.read_text())["runs"]
    rounded = []
    for key, want in recorded.items():
        model, norm = key.split("-")
        config = RunConfig(
            model=model, norm=norm, epochs=1, batch_size=32, train_limit=96, val_limit=32,
            n_T=20 if model == "cold" else 100, sampler="alg2" if model == "cold" else "ddim",
            dataset="mnist-small", device="cpu", precision="fp32", threads=1, sample_steps=2, sample_every="100",
        ).validate()  # fmt: skip
        run = RunDir.create(tmp_path, key, config=config.to_dict())
        assert Engine(run, config, data=small_data).run() == "finished"
        events = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
        losses = [e["loss"] for e in events if e["event"] == "step"]
        assert losses == pytest.approx(want["losses"], rel=1e-5, abs=0), key
        weights = torch.load(run.path / "checkpoints" / "last.pt", weights_only=False)["model"]
        digest = hashlib.sha256()
        for name, value in weights.items():
            digest.update(name.encode())
            digest.update(value.contiguous().numpy().tobytes())
        if digest.hexdigest() != want["weights_sha256"]:
            rounded.append(key)
    if rounded:  # the losses above matched; only the last bits of the weights may differ, on another CPU
        pytest.skip(f"weights of {rounded} differ in the last bits: this CPU's kernels round unlike the recording's")


def test_network_text_reads_old_configs_as_the_cnn():
    assert network_text({"n_hidden": [16, 32, 32, 16]}) == "16,32,32,16"
    assert network_text({"net": "unet", "unet_channels": [32, 64, 128]}) == "unet 32,64,128"
    assert network_text({"net": "gone"}) == "gone"  # a network since removed: its name, not a traceback
    assert RunConfig.from_dict({"model": "ddpm", "n_hidden": [4, 8]}).net == "cnn"
