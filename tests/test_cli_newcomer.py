"""What a newcomer types first: bare `diffdash`, `sample`/`eval` without a RUN (the newest, as `watch`), the
choices in `new --help`, `export --help`'s wording, and tags that tab-complete. The real CLI on recorded runs."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner
from runs_data import recorded_runs
from test_completion import complete

from diffdash.cli import cli
from diffdash.store.tags import add_tags


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_bare_diffdash_prints_help_and_succeeds():
    done = subprocess.run([sys.executable, "-m", "diffdash"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "Usage: diffdash" in done.stdout and "diffdash new --epochs 1" in done.stdout


def test_sample_and_eval_default_to_the_newest_run(tmp_path, monkeypatch):
    recorded_runs(tmp_path / "runs", ("small", "wide", "deep"))  # deep started last; none has a checkpoint
    monkeypatch.setenv("DIFFDASH_RUNS", str(tmp_path / "runs"))
    for command in ("sample", "eval"):
        assert f"{command} [OPTIONS] [RUN]" in invoke(command, "--help").output
        result = invoke(command, "-n", "4")
        assert result.exit_code == 2 and "run deep has no checkpoint yet" in result.output, result.output


def test_help_shows_choices_and_export_says_instead():
    new = invoke("new", "--help").output
    for flag, choices in (("--model", "[ddpm|cold]"), ("--device", "[auto|cpu|cuda|mps]"), ("--dataset", "[mnist|")):
        line = next(line for line in new.splitlines() if line.strip().startswith(flag + " "))
        assert choices in line and "TEXT" not in line, line
    assert "--sampler [" in new
    refused = invoke("new", "--model", "vae")
    assert refused.exit_code == 2 and "unknown model 'vae': choose one of ddpm, cold" in refused.output
    export = " ".join(invoke("export", "--help").output.split())
    assert "--tensorboard DIR Write TensorBoard event files to DIR/<run id> instead of the table" in export
    assert "Also write" not in export


def test_tags_complete(tmp_path):
    runs = recorded_runs(tmp_path / "runs", ("small", "wide"))
    add_tags(runs[0], ("baseline", "lr-sweep"))
    add_tags(runs[1], ("baseline",))
    env = {"DIFFDASH_RUNS": str(tmp_path / "runs")}
    assert complete("diffdash runs --tag ", env) == ["baseline", "lr-sweep"]
    assert complete("diffdash runs --tag lr", env) == ["lr-sweep"]
    assert complete("diffdash tag small --rm base", env) == ["baseline"]
