"""Helpers for the fault tests: the options of a tiny real run, copying a run, and CLI invocation that tells a
clean refusal (exit 2, one message) from a crash (a traceback)."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner, Result

TINY = [
    "--dataset", "mnist-small", "--n-hidden", "4,8,4", "--train-limit", "128", "--val-limit", "64",
    "--n-T", "50", "--sample-steps", "2", "--batch-size", "64", "--device", "cpu", "--headless",
]  # fmt: skip


def invoke(*args: str, runs: Path | None = None, env: dict | None = None) -> Result:
    from diffdash.cli import cli

    extra = ["--runs-dir", str(runs)] if runs is not None else []
    return CliRunner().invoke(cli, [*args, *extra], env=env)


def crashed(result: Result) -> str | None:
    """Why a CLI result is not a clean exit (0, or 2 with a message): the exception or traceback text."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        return "".join(traceback.format_exception(result.exception))
    if "Traceback (most recent call last)" in result.output:
        return result.output
    if result.exit_code not in (0, 2):
        return f"exit {result.exit_code}: {result.output}"
    return None


def refused(result: Result, *words: str) -> str:
    """A clean refusal: exit 2, no traceback, its last line naming each of `words`; returns that line."""
    assert crashed(result) is None, crashed(result)
    assert result.exit_code == 2, result.output
    line = result.output.strip().splitlines()[-1]
    for word in words:
        assert word in line, line
    return line


def copy_run(template: Path, root: Path, name: str | None = None) -> Path:
    target = root / (name or template.name)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template, target, ignore=shutil.ignore_patterns(".lock"))
    return target
