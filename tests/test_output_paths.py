"""Output paths: only a regular file (or nothing) is replaced; a FIFO, device, folder or a symlink to one, or a
place nothing can be written (/proc), is refused with one line and exit 2 before any work, for every command
that writes a file or folder (`sample -o`, `export -o`, `report -o`, `study report -o`, `--tensorboard`); a
damaged PNG in a run is skipped with a warning by `export --tensorboard`, as `report` does."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from fault_support import TINY, copy_run, crashed, invoke, refused

from diffdash.fsutil import NotRegularFile, atomic_write, check_output_path

PROC_WRITABLE = os.path.isdir("/proc/self")  # Linux: /proc takes no new files, even from root


@pytest.fixture
def run_copy(template_run, tmp_path) -> Path:
    return copy_run(template_run, tmp_path / "runs")


def odd_targets(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    link = tmp_path / "null.png"
    link.symlink_to("/dev/null")
    (tmp_path / "folder").mkdir()
    folder_link = tmp_path / "folder.png"
    folder_link.symlink_to(tmp_path / "folder")
    return {"FIFO": fifo, "device": link, "folder": folder_link}


def test_atomic_write_replaces_only_regular_files(tmp_path):
    for kind, target in odd_targets(tmp_path).items():
        with pytest.raises(NotRegularFile, match=f"is not a regular file \\(it is a {kind}\\)"):
            atomic_write(target, lambda f: f.write(b"x"))
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo.png").st_mode)
    assert (tmp_path / "null.png").is_symlink() and stat.S_ISCHR(os.stat(tmp_path / "null.png").st_mode)
    plain = tmp_path / "plain.txt"
    plain.write_text("old")
    atomic_write(plain, lambda f: f.write(b"new"))
    assert plain.read_text() == "new"
    check_output_path(tmp_path / "new" / "deeper" / "x.png")  # missing folders are fine: they are made


def test_sample_refuses_odd_targets_even_with_force(run_copy, tmp_path):
    for kind, target in odd_targets(tmp_path).items():
        said = ("is a directory",) if kind == "folder" else ("is not a regular file", kind)  # folders: click's word
        result = invoke("sample", run_copy.name, "-n", "4", "--force", "-o", str(target), runs=run_copy.parent)
        refused(result, "--output", *said)
        result = invoke("sample", run_copy.name, "-n", "4", "-o", str(target), runs=run_copy.parent)
        refused(result, *said)
    assert not list(tmp_path.glob("fifo-*.png")) and not list(tmp_path.glob("null-*.png")), "no fresh name beside"
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo.png").st_mode)


@pytest.mark.skipif(not PROC_WRITABLE, reason="needs Linux /proc")
def test_unwritable_places_are_one_line_before_any_work(run_copy, tmp_path):
    root = run_copy.parent
    refused(invoke("sample", run_copy.name, "-n", "4", "-o", "/proc/x.png", runs=root), "cannot write /proc/x.png")
    refused(invoke("export", run_copy.name, "-o", "/proc/x.csv", runs=root), "cannot write /proc/x.csv")
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    refused(invoke("export", run_copy.name, "--tensorboard", "/proc/tbx", runs=root), "--tensorboard", "/proc/tbx")
    result = invoke("new", *TINY, "--epochs", "1", "--name", "tb", "--tensorboard", "/proc/tbx", runs=root)
    refused(result, "--tensorboard", "cannot write /proc/tbx")
    assert not (root / "tb").exists(), "refused at start: no run was made"


@pytest.mark.skipif(not PROC_WRITABLE, reason="needs Linux /proc")
def test_report_folders_refuse_unwritable_places(run_copy):
    pytest.importorskip("matplotlib", reason="the report extra is not installed")
    refused(invoke("report", run_copy.name, "-o", "/proc/rep", runs=run_copy.parent), "cannot write /proc/rep")


def test_export_refuses_a_fifo_as_its_table(run_copy, tmp_path):
    fifo = odd_targets(tmp_path)["FIFO"]
    refused(invoke("export", run_copy.name, "-o", str(fifo), runs=run_copy.parent), "is not a regular file")


def test_export_tensorboard_skips_a_truncated_grid_with_a_warning(run_copy, tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    grids = sorted((run_copy / "samples").glob("*.png"))
    assert grids, "the template run has sample grids"
    data = grids[-1].read_bytes()
    grids[-1].write_bytes(data[: len(data) // 2])
    result = invoke("export", run_copy.name, "--tensorboard", str(tmp_path / "tb"), runs=run_copy.parent)
    assert crashed(result) is None, crashed(result)
    assert result.exit_code == 0, result.output
    assert f"warning: skipped {grids[-1]}" in result.output
    assert (tmp_path / "tb" / run_copy.name).is_dir()
