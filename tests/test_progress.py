"""`--headless`: a progress line at least every N seconds (through validation and data loading), a summary."""

from __future__ import annotations

import io
import time

from click.testing import CliRunner
from rich.console import Console

from diffdash.cli import cli
from diffdash.runs.headless import HeadlessPrinter
from diffdash.store import RunDir
from diffdash.training import Engine


class TimedLines(io.StringIO):
    """A console file that remembers when each line was written."""

    def __init__(self):
        super().__init__()
        self.stamps: list[tuple[float, str]] = []

    def write(self, s: str) -> int:
        for line in s.splitlines():
            if line.strip():
                self.stamps.append((time.monotonic(), line))
        return super().write(s)


def test_progress_line_is_due_every_interval_and_not_before():
    out = io.StringIO()
    printer = HeadlessPrinter(Console(file=out, width=200), every_s=30.0, config={"epochs": 2, "dataset": "mnist"})
    t0 = printer._last_line
    printer.tick(now=t0 + 29.0)
    assert out.getvalue() == ""
    printer.tick(now=t0 + 30.5)
    assert "loading MNIST" in out.getvalue() or "starting" in out.getvalue()
    printer.tick(now=t0 + 31.0)
    assert out.getvalue().count("\n") == 1, "a line was printed and the next is 30 s away"


def test_headless_run_prints_lines_on_cadence_and_a_summary(tmp_path, small_data, tiny_config):
    run = RunDir.create(tmp_path, "headless")
    config = tiny_config(epochs=2, train_limit=3072, val_limit=256, batch_size=32)  # seconds to tick through
    lines = TimedLines()
    printer = HeadlessPrinter(Console(file=lines, width=200), every_s=0.3, config=config.to_dict(), run_dir=run)
    printer.start_ticker()
    started = time.monotonic()
    try:
        state = Engine(run, config, data=small_data, listeners=[printer]).run()
    finally:
        printer.close()
    took = time.monotonic() - started
    assert state == "finished"
    text = [line for _, line in lines.stamps]
    progress = [line for line in text if "elapsed" in line and "ETA" in line]
    assert progress, "\n".join(text)
    assert any("step " in line and "img/s" in line for line in progress)
    stamps = [started] + [t for t, _ in lines.stamps]
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    # on a quiet machine every gap stays near 0.3 s; on a starved one the odd thread switch comes late
    late = [g for g in gaps if g > 0.3 + 1.0]
    assert len(late) <= max(2, len(gaps) // 20), f"{len(late)} silences over 1.3 s in a {took:.1f} s run: {late}"
    assert len(progress) >= took / 0.3 / 4
    assert any(line.startswith("training, 2 epochs: 3,072 images, 96 steps an epoch") for line in text)
    summary = "\n".join(text[-4:])
    assert "finished at epoch 2" in summary and "validation" in summary and "previews" in summary
    # two epoch grids, and on a slow machine time-based previews inside the epochs too: the summary counts them all
    grids = len(run.samples())
    assert grids >= 2 and "best val" in summary and f"{grids} grids in {run.path / 'samples'}" in summary


def test_headless_cli_says_one_epoch_and_takes_progress_every(tmp_path):
    args = ["new", "--headless", "--dataset", "mnist-small", "--n-hidden", "4,8,4", "--epochs", "1", "--train-limit",
            "64", "--val-limit", "32", "--batch-size", "32", "--n-T", "20", "--sample-steps", "2", "--device", "cpu",
            "--progress-every", "0.2", "--runs-dir", str(tmp_path / "runs")]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "training, 1 epoch: 64 images, 2 steps an epoch" in result.output
    assert "loading torch and the bundled MNIST subset" in result.output
    assert "finished at epoch 1" in result.output and "best val" in result.output
    bad = CliRunner().invoke(cli, [*args[:-2], "--progress-every", "0", "--runs-dir", str(tmp_path / "r2")])
    assert bad.exit_code == 2 and "--progress-every" in bad.output
