"""Shell completion through Click's own protocol, as bash/zsh/fish call it: a subprocess with
_DIFFDASH_COMPLETE, COMP_WORDS and COMP_CWORD set, reading the candidates it prints."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest
from runs_data import recorded_runs

from diffdash.cli import cli
from diffdash.commands.completion import RUN_ARGUMENTS, complete_runs


def complete(words: str, env: dict, shell: str = "bash") -> list[str]:
    """The candidates `diffdash` offers for the last word of `words` (bash_complete prints type,value lines)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    done = subprocess.run(
        [sys.executable, "-m", "diffdash"],
        env={**os.environ, **env, "_DIFFDASH_COMPLETE": f"{shell}_complete", "COMP_WORDS": words,
             "COMP_CWORD": str(cword)},
        capture_output=True,
        text=True,
        timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if line.startswith("plain,")]


@pytest.fixture
def runs_env(tmp_path):
    runs = recorded_runs(tmp_path / "runs", ("small", "wide", "deep"))
    config = runs[2].read_config()
    config["name"] = "deep-net"
    runs[2].write_config(config)
    return {"DIFFDASH_RUNS": str(tmp_path / "runs")}


def test_run_names_complete(runs_env, tmp_path):
    assert complete("diffdash compare ", runs_env) == ["latest", "small", "wide", "deep", "deep-net"]
    assert complete("diffdash compare small w", runs_env) == ["wide"]
    assert complete("diffdash watch deep-", runs_env) == ["deep-net"]
    assert complete("diffdash tag l", runs_env) == ["latest"]
    elsewhere = {"DIFFDASH_RUNS": str(tmp_path / "nothing-here")}
    assert complete(f"diffdash resume --runs-dir {tmp_path / 'runs'} s", elsewhere) == ["small"]


def test_choice_values_complete(runs_env):
    assert complete("diffdash new --model ", runs_env) == ["ddpm", "cold"]
    assert complete("diffdash new --device c", runs_env) == ["cpu", "cuda"]
    assert complete("diffdash new --sampler a", runs_env) == ["ancestral", "alg1", "alg2"]
    assert complete("diffdash sample small --sampler d", runs_env) == ["ddim", "dpm++2m", "direct"]
    assert complete("diffdash runs --status fi", runs_env) == ["finished"]  # click.Choice, as before


def test_every_run_argument_completes_runs():
    """A command added later with a RUN argument gets run completion without further wiring."""
    found = []
    for command in cli.commands.values():
        for param in command.params:
            if isinstance(param, click.Argument) and param.name in RUN_ARGUMENTS:
                assert param._custom_shell_complete is complete_runs, command.name
                found.append(command.name)
    assert {"compare", "diff", "export", "watch", "resume", "sample", "eval", "report", "rm", "rename", "note",
            "tag"} <= set(found)  # fmt: skip
