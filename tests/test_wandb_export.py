"""`export --wandb DIR`: offline W&B runs, read back from their `.wandb` logs with wandb's own protobuf records,
every scalar and grid equal to the run folder's; nothing reaches the network, and `wandb sync` finds them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from runs_data import RECORDED

from diffdash.cli import cli
from diffdash.store import RunDir
from diffdash.store.events import drop_undone

pytest.importorskip("wandb", reason="the wandb extra is not installed: pip install 'diffdash[wandb]'")
from wandb_support import read_offline_run  # noqa: E402

PLACEMENT = ("epoch", "step", "images", "time")


def expected_scalars(run: RunDir) -> dict[int, dict[str, float]]:
    """Every number of metrics.jsonl (what a resume undid left out) at its step, named `<kind>/<field>`."""
    out: dict[int, dict[str, float]] = {}
    for e in drop_undone(run.read_events()[0]):
        kind = e["event"]
        if kind not in ("step", "epoch", "eval", "system", "sample"):
            continue
        row = out.setdefault(e.get("step", 0), {})
        for key, value in e.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if key not in PLACEMENT or (kind == "step" and key in ("images", "time")):
                row[f"{kind}/{key}"] = value
        for digit, count in enumerate(e.get("histogram") or []):
            row[f"eval/digits/{digit}"] = count
    return out


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory, sampled_run):
    """The recorded "small" run (evaluated) and a run trained today (lr, grad_norm, system), exported in a
    child process whose environment asks for online mode and has no network where `unshare` can cut it."""
    root = tmp_path_factory.mktemp("wandb")
    runs = root / "runs"
    shutil.copytree(RECORDED / "small", runs / "small")
    shutil.copytree(sampled_run.path, runs / "sampled")
    env = {**os.environ, "WANDB_MODE": "online", "HOME": str(root), "WANDB_API_KEY": ""}
    env.pop("WANDB_API_KEY")
    cmd = [sys.executable, "-m", "diffdash", "export", "small", "sampled", "--runs-dir", str(runs), "--wandb", "wb"]
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        cmd = ["unshare", "-rn", *cmd]  # a network namespace with no interface: any connection attempt fails
    done = subprocess.run(cmd, cwd=root, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "upload with: wandb sync wb" in done.stderr
    return root, runs


def folder_of(root: Path, run_id: str) -> Path:
    [folder] = (root / "wb").glob(f"offline-run-*-{run_id}")
    return folder


@pytest.mark.parametrize("run_id", ["small", "sampled"])
def test_every_scalar_is_the_run_folders_at_its_step(exported, run_id):
    root, runs = exported
    run = RunDir(runs / run_id)
    log = read_offline_run(folder_of(root, run_id))
    assert log["run_id"] == run_id
    want = expected_scalars(run)
    got = {
        step: {k: v for k, v in row.items() if not k.startswith(("_", "samples/"))}
        for step, row in log["history"].items()
    }
    assert {s: r for s, r in got.items() if r} == {s: r for s, r in want.items() if r}
    kinds = {k.split("/")[0] for row in want.values() for k in row}
    assert kinds >= {"step", "epoch", "sample"}
    if run_id == "sampled":
        assert {"system/rss_bytes", "step/grad_norm", "step/lr"} <= {k for row in want.values() for k in row}
    else:
        assert "eval/fid" in {k for row in want.values() for k in row}


@pytest.mark.parametrize("run_id", ["small", "sampled"])
def test_every_grid_is_the_run_folders_png_at_its_step(exported, run_id):
    root, runs = exported
    run = RunDir(runs / run_id)
    folder = folder_of(root, run_id)
    log = read_offline_run(folder)
    samples = [e for e in drop_undone(run.read_events()[0]) if e["event"] == "sample" and e.get("path")]
    assert len(samples) == len(run.samples()) >= 1
    for e in samples:
        image = log["history"][e["step"]]["samples/preview"]
        assert image["_type"] == "image-file"
        np.testing.assert_array_equal(pixels(folder / "files" / image["path"]), pixels(run.path / e["path"]))
    forward = run.samples_dir / "forward.png"
    if forward.is_file():
        image = log["history"][0]["samples/forward_process"]
        np.testing.assert_array_equal(pixels(folder / "files" / image["path"]), pixels(forward))


def test_the_config_is_the_runs(exported):
    root, runs = exported
    config = json.loads((runs / "sampled" / "config.json").read_text())
    got = read_offline_run(folder_of(root, "sampled"))["config"]
    assert {k: got[k] for k in config} == config


def test_wandb_sync_finds_every_run_in_dir(exported):
    root, _ = exported
    wandb_cli = Path(sys.executable).with_name("wandb")
    if not wandb_cli.is_file():
        pytest.skip("no wandb command beside this Python")
    done = subprocess.run([str(wandb_cli), "sync", "--dry-run", "wb"], cwd=root, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "HOME": str(root)}, stdin=subprocess.DEVNULL)  # fmt: skip
    text = done.stdout + done.stderr
    assert done.returncode == 0, text
    assert "Would sync 2 run(s)" in text and "run-small.wandb" in text and "run-sampled.wandb" in text


def test_exporting_again_replaces_the_runs_folder(tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(RECORDED / "deep", runs / "deep")
    args = ["export", "deep", "--runs-dir", str(runs), "--wandb", str(tmp_path / "wb")]
    for _ in range(2):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "wb").glob("offline-run-*-deep"))) == 1
    assert [p.name for p in (tmp_path / "wb").iterdir() if p.name.startswith(".")] == []  # no staging left


def test_wrong_uses_exit_2_with_one_line(tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(RECORDED / "deep", runs / "deep")
    (tmp_path / "file").write_text("mine")
    for extra in (
        ["--wandb", str(tmp_path / "file")],
        ["--wandb", "wb", "--csv"],
        ["--wandb", "wb", "--tensorboard", "tb"],
    ):
        result = CliRunner().invoke(cli, ["export", "deep", "--runs-dir", str(runs), *extra])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
    assert (tmp_path / "file").read_text() == "mine"


def test_without_wandb_the_option_exits_2_with_the_install_line(tmp_path):
    """wandb made unimportable in a child process (sys.modules[name] = None is Python's own "not installed")."""
    runs = tmp_path / "runs"
    shutil.copytree(RECORDED / "deep", runs / "deep")
    code = "import sys; sys.modules['wandb'] = None; from diffdash.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "export", "deep", "--runs-dir", str(runs), "--wandb", str(tmp_path / "wb")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "pip install 'diffdash[wandb]'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "wb").exists()
