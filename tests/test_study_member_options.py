"""Study files read their members' options from the option table, not through `diffdash new`'s click command,
and still accept and refuse exactly what `new` does, with the same message naming the key in the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from diffdash.cli import cli
from diffdash.commands.train_commands import new_command
from diffdash.study import StudyError, load_study
from diffdash.study.member_options import RESERVED

HEAD = '[study]\nname = "s"\n'
GOOD = {  # options of every kind: run options, launch options, lists, flags, text numbers, per-model defaults
    "plain": "epochs = 1\n",
    "mixed": 'epochs = "3"\nlr = 1\nn_hidden = [8, 16, 8]\nkeep_snapshots = true\nbetas = "1e-4,0.02"\n',
    "cold": 'model = "cold"\nkernel_size = 5\nn_T = 10\nsampler = "direct"\n',
    "launch": 'nproc = 2\nmax_restarts = 3\ntensorboard = "tb"\nprogress_every = 5\n',
    "unet": 'net = "unet"\nunet_channels = [16, 32, 64]\nmax_time = "1m"\nthreads = 2\n',
}
BAD = {  # option line -> what `new` says for the same value
    "epochs": ("epochs = 2.5", ["--epochs", "2.5"]),
    "threads": ("threads = 0", ["--threads", "0"]),
    "nproc": ("nproc = 2000", ["--nproc", "2000"]),
    "max_restarts": ("max_restarts = -1", ["--max-restarts", "-1"]),
    "progress_every": ("progress_every = 0.01", ["--progress-every", "0.01"]),
    "lr": ('lr = "abc"', ["--lr", "abc"]),
    "n_hidden": ('n_hidden = "16,x"', ["--n-hidden", "16,x"]),
    "n_T": ("n_T = 1", ["--n-T", "1"]),
    "model": ('model = "warm"', ["--model", "warm"]),
    "ema": ("ema = 1.5", ["--ema", "1.5"]),
}


def member_of(tmp_path: Path, options: str):
    path = tmp_path / "s.toml"
    path.write_text(HEAD + "[runs.a]\n" + options, encoding="utf-8")
    (member,) = load_study(path).members
    return member


@pytest.mark.parametrize("case", GOOD)
def test_a_member_resolves_as_new_parses_its_command_line(tmp_path, case):
    member = member_of(tmp_path, GOOD[case])
    ctx = new_command.make_context("new", [*member.argv, "--name", member.run_id])
    by_new = {k: str(v) if isinstance(v, Path) else v for k, v in ctx.params.items() if k not in RESERVED}
    assert member.params == by_new


@pytest.mark.parametrize("key", BAD)
def test_a_bad_value_gets_news_message_naming_the_key(tmp_path, key):
    line, argv = BAD[key]
    with pytest.raises(StudyError) as caught:
        member_of(tmp_path, line + "\n")
    said = CliRunner().invoke(cli, ["new", *argv, "--runs-dir", str(tmp_path / "runs"), "--headless"])
    assert said.exit_code == 2 and not (tmp_path / "runs").exists()
    message = str(caught.value)
    assert message.startswith(f"runs.a.{key}: ")
    assert message.removeprefix(f"runs.a.{key}: ") in " ".join(said.output.split()), said.output


def test_prepare_is_refused_naming_why(tmp_path):
    with pytest.raises(StudyError, match=r"runs\.a\.prepare: not allowed in a study: the study trains"):
        member_of(tmp_path, "prepare = true\n")


def test_reading_a_study_imports_neither_click_nor_the_commands():
    code = (
        "import sys; from diffdash.study import load_study; load_study('studies/coursework.toml'); "
        "print(sorted(m for m in sys.modules if m == 'click' or m.startswith('diffdash.commands')))"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
