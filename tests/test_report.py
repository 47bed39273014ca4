"""`diffdash report` on the recorded real runs: the PNGs exist, have their sizes and show what they should."""

from __future__ import annotations

import csv
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from diffdash.cli import cli
from diffdash.compare.shared import hex_to_rgb, run_colour


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def pixels(path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB")).astype(int)


def has_colour(img: np.ndarray, hex_colour: str, tol: int = 12) -> bool:
    return bool((np.abs(img - np.array(hex_to_rgb(hex_colour))).max(axis=2) <= tol).sum() > 50)


def not_blank(img: np.ndarray) -> bool:
    return img.std() > 10 and len(np.unique(img.reshape(-1, 3), axis=0)) > 20


def test_report_of_three_runs(runs, tmp_path):
    out = tmp_path / "report"
    result = invoke("report", "small", "wide", "deep", "-o", str(out), "--epochs", "1,3")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "loss_small.png",
            "loss_wide.png",
            "loss_deep.png",
            "overlay.png",
            "grids_epoch_0001.png",
            "grids_epoch_0003.png",
            "fid.png",
            "metrics.csv",
            "index.md",
        ]
    )
    sizes = {"loss_small.png": (500, 800), "overlay.png": (500, 1400), "fid.png": (500, 1400)}
    sizes["grids_epoch_0001.png"] = (380, 960)  # 3.2 in per run, 100 dpi
    for name, shape in sizes.items():
        img = pixels(out / name)
        assert img.shape[:2] == shape, name
        assert not_blank(img), name
    overlay = pixels(out / "overlay.png")
    assert all(has_colour(overlay, run_colour(i)) for i in range(3))
    assert has_colour(pixels(out / "loss_wide.png"), run_colour(1))
    fid = pixels(out / "fid.png")
    assert has_colour(fid, run_colour(0)) and has_colour(fid, run_colour(1)) and not has_colour(fid, run_colour(2))
    grids = pixels(out / "grids_epoch_0003.png")
    dark = (grids.max(axis=2) < 40).mean()
    assert 0.15 < dark < 0.9  # three mostly-black sample grids on white
    rows = list(csv.DictReader((out / "metrics.csv").read_text().splitlines()))
    assert len(rows) == 9 and {r["run"] for r in rows} == {"small", "wide", "deep"}
    index = (out / "index.md").read_text()
    for name in names:
        if name.endswith(".png"):
            assert f"({name})" in index
    assert "| n_hidden | 4,8,4 | 8,16,8 | 4,8,8,4 |" in index
    assert "| parameters | 66,237 | 101,497 | 81,925 |" in index


def test_default_epochs_and_a_single_run(runs, tmp_path):
    out = tmp_path / "one"
    assert invoke("report", "deep", "-o", str(out)).exit_code == 0
    assert sorted(p.name for p in out.glob("grids_*.png")) == [
        "grids_epoch_0001.png",
        "grids_epoch_0002.png",
        "grids_epoch_0003.png",
    ]
    assert pixels(out / "grids_epoch_0002.png").shape[:2] == (380, 320)
    assert not (out / "fid.png").exists()  # no eval events in this run


@pytest.mark.parametrize(
    "epochs, message",
    [
        ("1,x", "epochs entry 'x' is not a whole number: give epochs like 1,25,50"),
        ("garbage", "epochs entry 'garbage' is not a whole number: give epochs like 1,25,50"),
        ("0", "epochs entry 0 is not a positive epoch"),
        ("1,,2", "has an empty entry"),
        ("1,25", "no run has a sample grid at epoch 25"),
    ],
)
def test_bad_epochs_exit_2_and_write_nothing(runs, tmp_path, epochs, message):
    out = tmp_path / "r"
    result = invoke("report", "small", "-o", str(out), "--epochs", epochs)
    assert result.exit_code == 2 and message in result.output
    assert "n-hidden" not in result.output and "16,32" not in result.output  # not --n-hidden's wording
    assert not out.exists()


def test_existing_output_needs_force(runs, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    result = invoke("report", "small", "-o", str(out))
    assert result.exit_code == 2 and "--force" in result.output and (out / "mine.txt").read_text() == "keep me"
    assert invoke("report", "small", "-o", str(out), "--force").exit_code == 0
    assert not (out / "mine.txt").exists() and (out / "index.md").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folders left


def test_missing_matplotlib_is_a_clear_message(runs, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import matplotlib` sees when it is not installed
    result = invoke("report", "small", "-o", str(tmp_path / "r"))
    assert result.exit_code == 1
    assert "pip install 'diffdash[report]'" in result.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "config, words",
    [
        ({"model": "ddpm"}, "loss (MSE of predicted noise)"),
        ({"model": "cold"}, "loss (L1 (mean absolute error) of the restored digit)"),
        ({"model": "cold", "loss": "l2"}, "loss (L2 (MSE) of the restored digit)"),
    ],
)
def test_the_loss_axis_names_what_the_model_minimises(tmp_path, config, words):
    """A cold run restores the digit: its loss figure must not call it the noise-prediction MSE."""
    matplotlib = pytest.importorskip("matplotlib")
    from diffdash.compare.report.figures import ReportRun, loss_figure
    from diffdash.runs.history import History
    from diffdash.store import RunDir

    history = History()
    history.apply({"event": "epoch", "epoch": 1, "step": 2, "train_loss": 0.3, "val_loss": 0.25})
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text in the SVG
        out = loss_figure(ReportRun(RunDir(tmp_path), "r", "#1f77b4", history, config), tmp_path / "loss.svg")
    text = out.read_text()
    assert words in text
    assert ("predicted noise" in text) == (config["model"] == "ddpm")
