"""The command line: bad input exits 2 naming the value and leaves nothing behind; new/resume/sample work."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from diffdash.cli import cli

TINY = [
    "--dataset",
    "mnist-small",
    "--n-hidden",
    "4,8,4",
    "--train-limit",
    "128",
    "--val-limit",
    "64",
    "--n-T",
    "50",
    "--sample-steps",
    "3",
    "--batch-size",
    "64",
    "--headless",
    "--device",
    "cpu",
]


def invoke(args, runs_dir):
    return CliRunner().invoke(cli, [*args, "--runs-dir", str(runs_dir)])


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--n-hidden", "16,,32"], "empty entry"),
        (["--n-hidden", "a"], "'a' is not a whole number"),
        (["--n-hidden", "0"], "n-hidden entry 0 must be a positive"),
        (["--n-hidden", "-4"], "n-hidden entry -4 must be a positive"),
        (["--n-hidden", ""], "n-hidden is empty"),
        (["--betas", "0.02,1e-4"], "0 < beta1 < beta2 < 1"),
        (["--betas", "0,0.02"], "0 < beta1 < beta2 < 1"),
        (["--betas", "1e-4,1.5"], "0 < beta1 < beta2 < 1"),
        (["--betas", "1e-4"], "must be two numbers"),
        (["--epochs", "0"], "epochs must be at least 1, got 0"),
        (["--model", "vae"], "unknown model 'vae'"),
        (["--dataset", "cifar"], "unknown dataset 'cifar'"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--device", "cuda"], "no CUDA GPU"),
        (["--precision", "fp8"], "unknown precision 'fp8'"),
        (["--sampler", "euler"], "unknown sampler 'euler'"),
        (["--schedule", "quadratic"], "unknown schedule 'quadratic': choose one of linear, cosine"),
        (["--model", "cold", "--schedule", "cosine"], "cold runs degrade by --degradation"),
        (["--max-restarts", "2"], "restarts need --nproc 2 or more"),
        (["--name", "a/b"], "not allowed"),
        (["--name", ".."], "not allowed"),
        (["--name", "x..y"], "not allowed"),
        (["--lr", "-1"], "lr must be a finite number above 0"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message_and_no_run_folder(tmp_path, args, needle):
    runs = tmp_path / "runs"
    result = invoke(["new", *TINY, *args], runs)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.parametrize("command", [["resume", "nope"], ["sample", "nope"]])
def test_resume_or_sample_of_a_missing_run_exits_2(tmp_path, command):
    result = invoke(command, tmp_path / "runs")
    assert result.exit_code == 2
    assert "no run" in result.output


def test_help_does_not_import_torch_or_textual():
    code = (
        "import sys; from click.testing import CliRunner; from diffdash.cli import cli; "
        "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0; "
        "[CliRunner().invoke(cli, [c, '--help']) for c in cli.commands]; "
        "print(sorted(m for m in ('torch', 'torchvision', 'textual') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_new_then_sample_then_name_clash(tmp_path):
    runs = tmp_path / "runs"
    result = invoke(["new", *TINY, "--epochs", "1", "--name", "tiny"], runs)
    assert result.exit_code == 0, result.output
    assert (runs / "tiny" / "samples" / "epoch_0001.png").is_file()
    out = tmp_path / "grid.png"
    result = invoke(["sample", "tiny", "-n", "4", "--steps", "3", "-o", str(out)], runs)
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 100
    before = out.read_bytes()
    again = invoke(["sample", "tiny", "-n", "4", "--steps", "3", "--seed", "1", "-o", str(out)], runs)
    assert again.exit_code == 0 and "--force" in again.output, again.output
    assert out.read_bytes() == before, "never overwrite a user's file silently"
    fresh = tmp_path / "grid-2.png"
    assert fresh.stat().st_size > 100 and "grid-2.png" in again.output, "a fresh name beside it, and said so"
    clash = invoke(["new", *TINY, "--name", "tiny"], runs)
    assert clash.exit_code == 2 and "already exists" in clash.output
    assert (runs / "tiny" / "config.json").is_file()
