"""A study's findings, status and report from the recorded real runs: the one-option sentences say what the
histories hold, the ETA and sparkline follow the numbers, and the report maps files to the coursework's figures."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from study_support import recorded_study

from diffdash.cli import cli
from diffdash.runs.history import read_history
from diffdash.store import RunDir
from diffdash.study.findings import collect, one_option_pairs, sentences
from diffdash.study.members import inspect
from diffdash.study.status import Row, digits_covered, sparkline, study_eta


def test_sentence_for_the_pair_that_differs_in_one_option(tmp_path):
    study, root = recorded_study(tmp_path)
    findings = collect(study, root)
    assert [f.name for f in findings] == ["small", "wide", "deep"]  # "later" has no folder
    assert [(a.name, b.name, key) for a, b, key in one_option_pairs(findings)] == [("small", "wide", "n_hidden")]
    small, wide = (read_history(RunDir(root / f"rec-{m}")) for m in ("small", "wide"))
    wide_lower = sum(w < s for s, w in zip(small.val_loss, wide.val_loss, strict=True))
    (text,) = sentences(findings)
    assert "differ only in n_hidden (4,8,4 vs 8,16,8)" in text
    assert f"lower for small at {3 - wide_lower} and for wide at {wide_lower} of the 3 epochs" in text
    assert f"at epoch 3 it is lower for wide ({wide.val_loss[-1]:.5f} against {small.val_loss[-1]:.5f})" in text
    fids = {m: h.evals[-1]["fid"] for m, h in (("small", small), ("wide", wide))}
    best = min(fids, key=fids.get)
    assert f"FID (MNIST classifier) is lower for {best} ({fids[best]:.2f} against" in text


def test_status_table_and_json(tmp_path):
    study, root = recorded_study(tmp_path)
    result = CliRunner().invoke(cli, ["study", "status", str(study.path), "--runs-dir", str(root)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["run", "state", "epochs"]
    assert lines[1].split()[:4] == ["small", "finished", "3/3", "0.75511"]
    assert lines[4].split()[:3] == ["later", "pending", "0/3"] and "rec: 3/4 finished" in result.output
    data = json.loads(
        CliRunner().invoke(cli, ["study", "status", str(study.path), "--runs-dir", str(root), "--json"]).output
    )
    assert [r["state"] for r in data["runs"]] == ["finished", "finished", "finished", "pending"]
    assert data["runs"][0]["val_loss"] == pytest.approx(read_history(RunDir(root / "rec-small")).val_loss)


def test_member_states(tmp_path):
    study, root = recorded_study(tmp_path)
    states = {m.name: inspect(root, study, m) for m in study.members}
    assert [(states[m].state, states[m].action) for m in ("small", "later")] == [
        ("finished", "skip"),
        ("pending", "start"),
    ]
    config = json.loads((root / "rec-deep" / "config.json").read_text())
    config["study"] = "another"
    (root / "rec-deep" / "config.json").write_text(json.dumps(config))
    assert inspect(root, study, study.members[2]).action == "refuse"
    more = study.members[0]
    more.params["epochs"] = 5  # more epochs in the file: a finished run is extended, not changed
    (root / "rec-small" / "checkpoints").mkdir(exist_ok=True)
    (root / "rec-small" / "checkpoints" / "last.pt").write_bytes(b"stands in for a checkpoint")
    extended = inspect(root, study, more)
    assert (extended.action, extended.changed, extended.why) == ("resume", [], "extend to 5 epochs")
    (root / "rec-small" / "checkpoints" / "last.pt").unlink()  # nothing to extend from: refused, never trashed
    assert inspect(root, study, more).action == "refuse"
    status = json.loads((root / "rec-small" / "status.json").read_text())
    (root / "rec-small" / "status.json").write_text(json.dumps({**status, "state": "stopped", "reason": "user"}))
    fewer = study.members[0]
    fewer.params["epochs"] = max(status["epoch"] - 1, 1)
    done = inspect(root, study, fewer)  # a stopped run past a lowered `epochs` is done, not resumed to fewer
    assert (done.action, done.why) == ("skip", f"it trained {status['epoch']} epochs; the file asks for {fewer.epochs}")


def test_eta_sparkline_digits():
    rows = [Row("a", "s-a", "ddpm", "running", epoch=2, epochs=4, s_per_epoch=10.0), Row("b", "s-b", "ddpm", epochs=4)]
    assert study_eta(rows, 1) == pytest.approx(20 + 40)
    assert study_eta(rows, 2) == pytest.approx(40)  # b alone takes 40 s
    assert study_eta([Row("c", "s-c", "cold", epochs=3)], 1) is None
    assert sparkline([3.0, 2.0, 1.0]) == "█▅▁" and sparkline([]) == ""
    assert digits_covered([100, 0, 1, 99, 0, 0, 0, 0, 0, 0]) == 2 and digits_covered([0] * 10) == 0


def test_report_maps_the_coursework_figures(tmp_path):
    study, root = recorded_study(tmp_path)
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["study", "report", str(study.path), "--runs-dir", str(root), "-o", str(out)])
    assert result.exit_code == 0, result.output
    index = (out / "index.md").read_text()
    assert "| small | n_hidden=4,8,4 | 3/3 | 0.75511 @ 3 |" in index
    assert "| [loss_small.png](loss_small.png) | small: loss | Figure 1 |" in index
    assert "| [loss_wide.png](loss_wide.png) | wide: loss | Figure 2 |" in index
    assert "| [overlay.png](overlay.png) | every run: loss by epoch and by images seen | Figure 3 |" in index
    assert "grids_ddpm_epoch_0001.png) | ddpm samples side by side at epoch 1 | Figure 4 |" in index
    assert "nearest to 25, 50, 75, 100) | Figure 5, Figure 6, Figure 7, Figure 8 |" in index
    assert "differ only in n_hidden" in index
    again = CliRunner().invoke(cli, ["study", "report", str(study.path), "--runs-dir", str(root), "-o", str(out)])
    assert again.exit_code == 2 and "--force" in again.output
