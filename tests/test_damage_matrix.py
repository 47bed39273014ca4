"""Every kind of damaged run file x every command that reads runs: exit 0 or 2, never a traceback.

The run is real (trained once per session on the bundled subset) and copied per cell; each damage is what a
crash, a full disk, a bad copy or a person with an editor leaves behind. Marked slow: ~300 cells.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from fault_support import copy_run, crashed, invoke

pytestmark = pytest.mark.slow
MARKER = "pwned-marker"


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _bytes(n: int) -> bytes:
    return np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()


def _cut(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _other_architecture(run):
    import torch

    from diffdash.checkpoint import save_checkpoint
    from diffdash.models.cnn import CNN

    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    state["model"] = CNN([3, 5]).state_dict()
    save_checkpoint(run / "checkpoints" / "last.pt", state)


DAMAGES = {
    "config-missing": lambda r: (r / "config.json").unlink(),
    "config-invalid-json": lambda r: (r / "config.json").write_text("{not json"),
    "config-mistyped": lambda r: (r / "config.json").write_text(
        json.dumps({**json.loads((r / "config.json").read_text()), "n_hidden": "abc"})
    ),
    "config-not-object": lambda r: (r / "config.json").write_text("[1, 2]"),
    "config-binary": lambda r: (r / "config.json").write_bytes(_bytes(300)),
    "status-missing": lambda r: (r / "status.json").unlink(),
    "status-invalid-json": lambda r: (r / "status.json").write_text("{"),
    "status-mistyped": lambda r: (r / "status.json").write_text(
        json.dumps({"state": "running", "pid": "x", "heartbeat": "yesterday", "epoch": "one", "best_val": []})
    ),
    "status-not-object": lambda r: (r / "status.json").write_text('"finished"'),
    "metrics-missing": lambda r: (r / "metrics.jsonl").unlink(),
    "metrics-truncated": lambda r: (r / "metrics.jsonl").write_bytes((r / "metrics.jsonl").read_bytes()[:-25]),
    "metrics-garbage-lines": lambda r: (r / "metrics.jsonl").write_bytes(
        b"garbage\n[1,2]\n" + (r / "metrics.jsonl").read_bytes() + b'{"event":"step","step":"x","loss":"y"}\n'
    ),
    "metrics-binary": lambda r: (r / "metrics.jsonl").write_bytes(_bytes(2000)),
    "checkpoint-missing": lambda r: (r / "checkpoints" / "last.pt").unlink(),
    "checkpoint-empty": lambda r: (r / "checkpoints" / "last.pt").write_bytes(b""),
    "checkpoint-truncated": lambda r: _cut(r / "checkpoints" / "last.pt"),
    "checkpoint-random": lambda r: (r / "checkpoints" / "last.pt").write_bytes(_bytes(5000)),
    "checkpoint-pickle": lambda r: (r / "checkpoints" / "last.pt").write_bytes(
        pickle.dumps({"model": _Evil(str(r.parent / MARKER))})
    ),
    "checkpoint-other-architecture": _other_architecture,
    "sample-png-truncated": lambda r: _cut(r / "samples" / "epoch_0001.png"),
    "sample-png-random": lambda r: (r / "samples" / "epoch_0001.png").write_bytes(_bytes(700)),
    "not-a-run": lambda r: [(r / n).unlink() for n in ("config.json", "status.json", "metrics.jsonl")],
    "stale-temp-files": lambda r: (r / "checkpoints" / ".last.pt.abc123.tmp").write_bytes(_bytes(900)),
    "notes-binary": lambda r: (r / "notes.md").write_bytes(_bytes(100)),
}


def _watch_loading(runs):
    """What `watch` reads before drawing (diffdash/ui/dashboard.py read_folder): events, config, status."""
    import contextlib

    from diffdash.store import resolve_run
    from diffdash.ui.run_view import RunView

    run = resolve_run(runs, "base")
    view = RunView(run_id=run.id)
    events, _ = run.read_events(0)
    for e in events:
        view.apply(e)
    with contextlib.suppress(OSError, ValueError):
        run.read_config()
    with contextlib.suppress(OSError, ValueError):
        run.read_status()


def _compare_loading(runs):
    """What `compare` reads for each run (diffdash/ui/compare_data.py), without drawing."""
    from diffdash.store import resolve_run
    from diffdash.ui.compare_data import CompareRun, chart_series

    pair = [CompareRun(resolve_run(runs, ref), i) for i, ref in enumerate(("base", "ref"))]
    for r in pair:
        r.poll()
        r.summary()
    chart_series(pair)


COMMANDS = {
    "runs": ["runs"],
    "runs-json": ["runs", "--json"],
    "watch-loading": _watch_loading,
    "compare-loading": _compare_loading,
    "diff": ["diff", "base", "ref"],
    "export": ["export", "base"],
    "export-steps": ["export", "base", "--steps"],
    "report": ["report", "base", "-o", "{tmp}/report"],
    "sample": ["sample", "base", "-n", "4", "-o", "{tmp}/grid.png"],
    "eval": ["eval", "base", "-n", "4", "--no-write"],
    "resume": ["resume", "base"],
    "rm": ["rm", "base"],
    "rename": ["rename", "base", "renamed"],
    "note": ["note", "base", "looked at it"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_run(tmp_path, template_run, monkeypatch, damage, command, small_classifier):
    _, cache = small_classifier
    monkeypatch.setenv("DIFFDASH_DATA", str(cache))
    runs = tmp_path / "runs"
    run = copy_run(template_run, runs)
    copy_run(template_run, runs, "ref")
    DAMAGES[damage](run)
    action = COMMANDS[command]
    if callable(action):
        action(runs)
        result = None
    else:
        result = invoke(*(a.replace("{tmp}", str(tmp_path)) for a in action), runs=runs)
        assert crashed(result) is None, f"{damage} x {command}:\n{crashed(result)}"
        assert result.exit_code in (0, 2)
        assert len([line for line in result.stderr.splitlines() if line.startswith("Error")]) <= 1
    assert not (runs / MARKER).exists(), "a pickle in last.pt ran"
    if result is None:
        return
    out = result.output
    if damage.startswith("checkpoint-") and damage != "checkpoint-missing" and command in ("sample", "eval", "resume"):
        assert result.exit_code == 2 and "checkpoint last.pt" in out, out
    if damage == "checkpoint-random" and command in ("sample", "eval", "resume"):
        assert "does not start like a torch checkpoint: random bytes" in out, out  # words, not a bare number
    if damage.startswith("config-") and command in ("sample", "eval", "resume"):
        assert result.exit_code == 2 and "config.json" in out, out
    if damage.startswith("sample-png") and command == "report":
        assert result.exit_code == 0 and "warning: skipped" in out, out
    if damage == "stale-temp-files" and command == "resume":
        assert result.exit_code == 0, out
        assert not list((run / "checkpoints").glob(".*.tmp"))
