"""The event definitions: what training really writes is declared, each kind validates, malformed lines are
rejected by every reader."""

from __future__ import annotations

import json
from typing import get_type_hints

import pytest

from diffdash.store import RunDir
from diffdash.store.events import KINDS, well_formed

AT = {"epoch": 2, "step": 20, "images": 1280, "time": 12.5}
EXAMPLES = [
    {"event": "start", **AT, "epochs": 3, "steps_per_epoch": 10, "n_train": 640, "n_val": 128, "parameters": 1234,
     "device": "cpu", "data_notice": "full MNIST not found: the bundled subset", "level_notice": "levels adjusted"},
    {"event": "resumed", **AT, "epochs": 3, "steps_per_epoch": 10, "n_train": 640, "n_val": 128, "parameters": 1234,
     "device": "cpu"},
    {"event": "step", **AT, "loss": 0.25, "lr": 2e-4, "grad_norm": 1.5},
    {"event": "epoch", **AT, "train_loss": 0.3, "val_loss": 0.2, "seconds": 4.0, "images_per_s": 160.0,
     "val_seconds": 0.5},
    {"event": "sample", **AT, "path": "samples/epoch_0002.png", "sampler": "ddim", "sample_steps": 5, "weights": "raw",
     "seconds": 0.4},
    {"event": "checkpoint", **AT, "path": "checkpoints/last.pt"},
    {"event": "eval", **AT, "fid": 12.3, "fid_kind": "mnist-classifier", "histogram": [1] * 10, "confidence": 0.9,
     "n": 10, "sampler": "ddpm", "steps": 100, "weights": "ema", "seconds": 3.2, "seed": 0, "fid_real": 1.2,
     "dataset": "mnist-small", "checkpoint": "last.pt", "recon": {"direct": {"rmse": 0.1, "ssim": 0.8}}},
    {"event": "finished", **AT},
    {"event": "stopped", **AT},
    {"event": "failed", **AT, "error": "disk full while writing checkpoints/last.pt"},
    {"event": "progress", **AT, "phase": "validating", "done": 3, "total": 8},
    {"event": "system", **AT, "cpu_percent": 187.5, "rss_bytes": 2**30, "cpus": 2, "processes": 3,
     "gpu_mem_bytes": 2**29, "gpu_total_bytes": 2**34},
]  # fmt: skip


def declared(event: dict) -> set[str]:
    return set(get_type_hints(KINDS[event["event"]]))


def test_every_kind_has_an_example_that_validates_with_only_declared_fields():
    assert {e["event"] for e in EXAMPLES} == set(KINDS)
    for e in EXAMPLES:
        assert well_formed(e), e["event"]
        assert set(e) <= declared(e), set(e) - declared(e)


def test_what_a_real_training_writes_is_declared(trained_run):
    events = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert {"start", "step", "epoch", "sample", "checkpoint", "finished"} <= {e["event"] for e in events}
    for e in events:
        assert e["event"] in KINDS and well_formed(e), e
        assert set(e) <= declared(e), f"{e['event']} writes undeclared fields {set(e) - declared(e)}"


MALFORMED = [
    [1, 2],
    {"step": 3},
    {"event": 7},
    {"event": "step", "step": "3"},
    {"event": "step", "step": 3, "loss": True},
    {"event": "epoch", "val_loss": "low"},
    {"event": "eval", "histogram": [1, "two"]},
    {"event": "sample", "path": 3},
    {"event": "a-kind-from-a-newer-version", "time": "late"},
]


@pytest.mark.parametrize("bad", MALFORMED, ids=lambda b: json.dumps(b)[:40])
def test_a_malformed_line_is_rejected_and_readers_skip_it(tmp_path, bad):
    assert not well_formed(bad)
    run = RunDir.create(tmp_path, "r")
    good = [{"event": "step", "step": 1, "loss": 0.5}, {"event": "step", "step": 2, "loss": 0.4}]
    run.metrics_path.write_text("\n".join(json.dumps(e) for e in [good[0], bad, good[1]]) + "\n")
    assert run.read_events()[0] == good
