"""Options and helpers shared by several commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from diffdash.options.run_config import ConfigError, RunConfig
from diffdash.store import DamagedConfig, RunDir, RunNotFound, check_runs_root, resolve_run, runs_root
from diffdash.ui import IMAGE_MODES

runs_dir_option = click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding the runs [env DIFFDASH_RUNS; default ./runs].",
)

image_mode_option = click.option(
    "--image-mode",
    type=click.Choice(IMAGE_MODES),
    default="auto",
    show_default=True,
    help="How sample grids are drawn (auto asks the terminal; force sixel, kitty, halfcell or unicode).",
)


def has_terminal() -> bool:
    """Somewhere a Textual app can draw: a terminal on stdin and stdout, or another Textual driver
    (textual-serve sets TEXTUAL_DRIVER to its web driver and talks to the app over pipes)."""
    return (sys.stdin.isatty() and sys.stdout.isatty()) or bool(os.environ.get("TEXTUAL_DRIVER"))


def bad(param: str, message: str) -> click.BadParameter:
    return click.BadParameter(message, param_hint=f"--{param.replace('_', '-')}")


def config_error(exc: ConfigError) -> click.BadParameter:
    return bad(exc.param, str(exc))


def check_seed_option(seed: int) -> None:
    """--seed as torch takes it, or exit 2 before any work."""
    from diffdash.options.run_config import check_seed

    try:
        check_seed(seed)
    except ConfigError as exc:
        raise bad("seed", str(exc)) from None


def run_sampler(config: RunConfig, sampler: str | None, steps: int | None) -> tuple[str, int]:
    """The sampler and step count to draw with: those given, else the run's own; an unknown sampler exits 2."""
    from diffdash.diffusion import samplers_for

    sampler = sampler or config.sampler
    if sampler not in samplers_for(config.model):
        raise bad("sampler", f"unknown sampler {sampler!r}: choose one of {', '.join(samplers_for(config.model))}")
    if steps is not None and steps > config.n_T:  # a strided sampler cannot take more steps than the run has
        raise bad("steps", f"--steps must lie in 1..{config.n_T} (the run's n_T), got {steps}")
    return sampler, steps or config.sample_steps


def checked_runs_root(runs_dir: Path | None) -> Path:
    """The runs folder, or exit 2 when it (or a folder above it) is a file."""
    root = runs_root(runs_dir)
    try:
        check_runs_root(root)
    except NotADirectoryError as exc:
        raise click.BadParameter(str(exc), param_hint="--runs-dir (or DIFFDASH_RUNS)") from None
    return root


def find_run(runs_dir: Path | None, ref: str) -> RunDir:
    """Resolve a run reference or exit 2 listing the candidates."""
    root = checked_runs_root(runs_dir)
    try:
        run = resolve_run(root, ref)
    except RunNotFound as exc:
        lines = [str(exc)]
        if exc.candidates:
            lines.append("candidates: " + ", ".join(exc.candidates))
        lines.append("accepted: a run id, a unique prefix of one, a name, an index from `diffdash runs`, or 'latest'")
        raise click.BadParameter("\n".join(lines), param_hint="RUN") from None
    if ref.isdigit() and run.id != ref:  # an index: warn when it named another run in the last listing
        from diffdash.store import sorted_runs
        from diffdash.store.index_memory import index_moved

        warning = index_moved(root, int(ref), run.id, [r.id for r in sorted_runs(root)])
        if warning:
            click.echo(click.style("warning: ", fg="yellow", bold=True) + warning, err=True)
    return run


def find_runs(runs_dir: Path | None, refs: tuple[str, ...], least: int = 1) -> list[RunDir]:
    """Resolve every reference (exit 2 on the first bad one); the same run named twice is refused."""
    if len(refs) < least:
        raise click.UsageError(f"give at least {least} runs, got {len(refs)}")
    runs = [find_run(runs_dir, ref) for ref in refs]
    seen: dict[Path, str] = {}
    for ref, run in zip(refs, runs, strict=True):
        if run.path in seen:
            raise click.BadParameter(f"{ref!r} and {seen[run.path]!r} are the same run ({run.id})", param_hint="RUN")
        seen[run.path] = ref
    return runs


def parse_epochs(text: str | None) -> list[int] | None:
    """'1,25,50' -> [1, 25, 50] (sorted, unique), or exit 2 naming the bad entry."""
    if text is None:
        return None

    def refuse(message: str) -> click.BadParameter:
        return click.BadParameter(f"{message}: give epochs like 1,25,50", param_hint="--epochs")

    if not text.strip():
        raise refuse("epochs is empty")
    values = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            raise refuse(f"epochs {text!r} has an empty entry")
        try:
            value = int(part)
        except ValueError:
            raise refuse(f"epochs entry {part!r} is not a whole number") from None
        if value < 1:
            raise refuse(f"epochs entry {value} is not a positive epoch")
        values.append(value)
    return sorted(set(values))


def run_error(run: RunDir, message: str) -> click.BadParameter:
    """Exit 2 with one line about a damaged run: "run R: checkpoint last.pt is unreadable (...)"."""
    return click.BadParameter(f"run {run.id}: {message}", param_hint="RUN")


def read_run_config(run: RunDir) -> RunConfig:
    """The run's config.json as a validated RunConfig, or exit 2 saying what is wrong with the file."""
    import json

    from diffdash.options.config_json import load_config

    try:
        data = run.read_config()
    except FileNotFoundError:
        raise run_error(run, "config.json is missing") from None
    except UnicodeDecodeError:
        raise run_error(run, "config.json is not text") from None
    except json.JSONDecodeError as exc:
        raise run_error(run, f"config.json is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except DamagedConfig as exc:
        raise run_error(run, str(exc)) from None
    except OSError as exc:
        raise run_error(run, f"config.json cannot be read ({exc.strerror})") from None
    try:
        return load_config(data)
    except ConfigError as exc:
        raise run_error(run, str(exc)) from None


def read_run_checkpoint(run: RunDir, path: Path | None = None, device: str = "cpu") -> dict[str, Any]:
    """A checkpoint of the run (default last.pt), or exit 2: "run R: checkpoint last.pt is unreadable (...)"."""
    from diffdash.checkpoint import CheckpointError, load_checkpoint

    path = path or run.last_checkpoint
    try:
        return load_checkpoint(path, device)
    except FileNotFoundError:
        raise run_error(run, f"checkpoint {path.name} is missing") from None
    except (CheckpointError, OSError) as exc:
        raise run_error(run, str(exc)) from None


def ensure_classifier(data: Any, data_dir: str | None, console: Any = None) -> Any:
    """The cached classifier of `data`; one that must be trained first shows a progress bar on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from diffdash.metrics.classifier import get_classifier

    console = console or Console(stderr=True)
    columns = (TextColumn("classifier"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"))
    bar = Progress(*columns, TimeRemainingColumn(), console=console, transient=True)
    task = None

    def progress(done: int, total: int, loss: float) -> None:
        nonlocal task
        if task is None:  # started on the first batch, so a classifier read from the cache draws nothing
            bar.start()
            task = bar.add_task("", total=total, loss="-")
        bar.update(task, completed=done, total=total, loss=f"{loss:.3f}")

    try:
        return get_classifier(data, data_dir, progress=progress, say=lambda m: console.print(f"[yellow]{m}[/]"))
    finally:
        bar.stop()
