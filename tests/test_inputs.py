"""Odd inputs an adversarial user types: each is one clear line and exit 2, with nothing left behind."""

from __future__ import annotations

import gzip
import os
import shutil
import stat

import numpy as np
import pytest
from fault_support import TINY, copy_run, crashed, invoke

HUGE = str(2**70)

NEW_INPUTS = [
    (["--lr", "inf"], "lr must be a finite number"),
    (["--lr", "nan"], "lr must be a finite number"),
    (["--lr", "-1"], "lr must be a finite number"),
    (["--lr", "0"], "lr must be a finite number"),
    (["--ema", "inf"], "ema decay"),
    (["--ema", "nan"], "ema decay"),
    (["--betas", "inf,0.02"], "betas"),
    (["--betas", "nan,nan"], "betas"),
    (["--model", "cold", "--n-T", "20", "--kernel-std", "inf"], "kernel std"),
    (["--model", "cold", "--n-T", "20", "--gen-noise", "inf"], "gen-noise"),
    (["--model", "cold", "--n-T", "20", "--gen-noise", "nan"], "gen-noise"),
    (["--model", "cold", "--n-T", "20", "--mask-std", "nan"], "mask std"),
    (["--seed", "1180591620717411303424"], "seed must be a whole number"),
    (["--seed", "-" + HUGE], "seed must be a whole number"),
    (["--sample-seed", HUGE], "sample-seed must be a whole number"),
    (["--n-T", "1"], "n-T must lie in 2..100000"),
    (["--n-T", "0"], "n-T must"),
    (["--n-T", "1000000000"], "n-T must lie in"),
    (["--model", "cold", "--n-T", "5000"], "n-T must lie in 1..1000"),
    (["--n-hidden", "100000"], "of memory"),
    (["--n-hidden", "4,8,4", "--batch-size", "100000000"], "of memory"),
    (["--n-hidden", ""], "n-hidden is empty"),
    (["--n-hidden", "abc"], "not a whole number"),
    (["--n-hidden", "0"], "positive channel count"),
    (["--name", "5"], "would read as a run index"),
    (["--name", "latest"], "would read as a run index"),
    (["--name", "a/b"], "is not allowed"),
    (["--name", ".."], "is not allowed"),
    (["--name", ""], "is not allowed"),
    (["--epochs", "0"], "epochs must be at least 1"),
    (["--train-limit", "0"], "train-limit must be at least 1"),
]


def assert_clean_refusal(result, needle: str) -> None:
    assert crashed(result) is None, crashed(result)
    assert result.exit_code == 2, result.output
    assert needle in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args, needle", NEW_INPUTS, ids=[" ".join(a) for a, _ in NEW_INPUTS])
def test_new_refuses_odd_values_and_leaves_no_folder(tmp_path, args, needle):
    runs = tmp_path / "runs"
    assert_clean_refusal(invoke("new", *TINY, *args, runs=runs), needle)
    assert not runs.exists() or list(runs.iterdir()) == []


def test_runs_dir_that_is_a_file_is_refused(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert_clean_refusal(invoke("new", *TINY, runs=afile / "sub"), "is not a folder")
    env = {"DIFFDASH_RUNS": str(afile)}
    assert_clean_refusal(invoke("new", *TINY, "--name", "x", env=env), "is not a folder")
    assert_clean_refusal(invoke("rm", "x", env=env), "is not a folder")
    assert afile.read_text() == "x"


@pytest.fixture
def runs_with_base(tmp_path, template_run):
    """A runs folder holding a copy of the finished run "base"."""
    copy_run(template_run, tmp_path / "runs")
    return tmp_path / "runs"


RUN_INPUTS = [
    (["rm", ""], "reference is empty"),
    (["rm", "  "], "reference is empty"),
    (["resume", ""], "reference is empty"),
    (["sample", ""], "reference is empty"),
    (["note", "", "hello"], "reference is empty"),
    (["sample", "base", "-n", "0"], "-n must lie in 1..10000"),
    (["sample", "base", "-n", "100000"], "-n must lie in 1..10000"),
    (["sample", "base", "--seed", HUGE], "seed must be a whole number"),
    (["sample", "base", "--steps", "0"], "--steps must be at least 1"),
    (["sample", "base", "--steps", "51"], "--steps must lie in 1..50 (the run's n_T), got 51"),
    (["eval", "base", "--steps", "51"], "--steps must lie in 1..50 (the run's n_T), got 51"),
    (["sample", "base", "--gen-noise", "inf"], "apply to cold runs"),
    (["eval", "base", "-n", "100000"], "-n must lie in 2..50000"),
    (["eval", "base", "-n", "1"], "-n must lie in 2..50000"),
    (["eval", "base", "--seed", HUGE], "seed must be a whole number"),
    (["rename", "base", "5"], "would read as a run index"),
    (["rename", "base", "latest"], "would read as a run index"),
    (["rename", "base", ""], "is not allowed"),
    (["resume", "base", "--epochs", "0"], "epochs must be at least 1"),
]


@pytest.mark.parametrize("args, needle", RUN_INPUTS, ids=[" ".join(a) or "empty" for a, _ in RUN_INPUTS])
def test_commands_on_a_run_refuse_odd_values(runs_with_base, args, needle):
    runs = runs_with_base
    before = sorted(p.name for p in (runs / "base").rglob("*"))
    assert_clean_refusal(invoke(*args, runs=runs), needle)
    assert sorted(p.name for p in (runs / "base").rglob("*") if p.name != ".lock") == [
        n for n in before if n != ".lock"
    ]


def test_new_name_taken_by_a_finished_run_is_refused(runs_with_base):
    assert_clean_refusal(invoke("new", *TINY, "--name", "base", runs=runs_with_base), "already exists")


def test_eval_entropy_is_never_negative_zero(capsys):
    from diffdash.commands.eval_command import print_figures

    print_figures({"fid": 1.0, "confidence": 0.9, "histogram": [16] + [0] * 9}, None, None)
    out = capsys.readouterr().out
    assert "digit entropy  0.00 bits" in out and "-0.00" not in out


# data files ----------------------------------------------------------------------------------------------
def _official_copy(folder):
    from diffdash.mnist.load import BUNDLED_DIR, FILES

    folder.mkdir()
    for stem in FILES.values():
        shutil.copy(BUNDLED_DIR / f"{stem}.gz", folder / f"{stem}.gz")
    return folder / "train-images-idx3-ubyte.gz"


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _random(path):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())


def _short_header(path):
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, 3, 0, 0]))


def _wrong_shape(path):
    from diffdash.mnist.idx import write_idx_gz

    write_idx_gz(path, np.zeros((10, 14, 56), dtype=np.uint8))


@pytest.mark.parametrize("damage", [_truncate, _random, _short_header, _wrong_shape], ids=lambda f: f.__name__[1:])
def test_damaged_data_files_name_the_file(tmp_path, damage):
    target = _official_copy(tmp_path / "mnist")
    damage(target)
    runs = tmp_path / "runs"
    result = invoke("new", *TINY[2:], "--dataset", "mnist", "--data-dir", str(tmp_path / "mnist"), runs=runs)
    assert_clean_refusal(result, "train-images-idx3-ubyte.gz")
    assert not runs.exists() or list(runs.iterdir()) == []


def test_failed_download_leaves_no_folders(tmp_path, monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # offline: every connection refused at once
    missing = tmp_path / "nowhere"
    result = invoke(
        "new", *TINY[2:], "--dataset", "mnist", "--data-dir", str(missing / "deeper"), "--epochs", "1",
        runs=tmp_path / "runs",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "bundled subset" in result.output
    assert not missing.exists()


# files follow the umask ------------------------------------------------------------------------------------
def test_written_files_follow_the_umask(tmp_path):
    import torch

    from diffdash.checkpoint import save_checkpoint
    from diffdash.mnist.grids import save_grid
    from diffdash.store import RunDir

    old = os.umask(0o002)
    try:
        run = RunDir.create(tmp_path, "r", config={"model": "ddpm"}, lock=True)
        run.append_events([{"event": "step", "step": 1}])
        save_checkpoint(run.last_checkpoint, {"model": {"w": torch.zeros(2)}})
        save_grid(torch.zeros(16, 1, 28, 28), run.sample_path(1))
        run.release_lock()
    finally:
        os.umask(old)
    for path in (run.config_path, run.status_path, run.metrics_path, run.last_checkpoint, run.sample_path(1)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o664, path
