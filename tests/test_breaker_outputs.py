"""Findings of the adversarial trial on files a command writes: `compare --group-by -o` (devices, FIFOs, missing
folders), `export -o` into a missing folder, `sample -o` when the name is taken while it samples, and the
temporary file a killed `eval --guidance` sweep leaves in eval/."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from fault_support import copy_run, crashed, invoke, refused
from runs_data import recorded_runs

PROC = os.path.isdir("/proc/self")  # Linux: /proc takes no new files, even from root


@pytest.fixture
def two_runs(tmp_path) -> tuple[Path, list[str]]:
    root = tmp_path / "runs"
    return root, [r.path.name for r in recorded_runs(root, ("small", "wide"))]


def group_by(root: Path, refs: list[str], *extra: str):
    return invoke("compare", *refs, "--group-by", "n_hidden", *extra, runs=root)


def test_compare_bands_refuse_odd_targets_before_any_work(two_runs, tmp_path):
    pytest.importorskip("matplotlib", reason="the report extra is not installed")
    root, refs = two_runs
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    null = tmp_path / "null.png"
    null.symlink_to("/dev/null")
    refused(group_by(root, refs, "-o", str(fifo)), "--output", "is not a regular file", "FIFO")
    refused(group_by(root, refs, "-o", str(null)), "--output", "is not a regular file", "device")
    refused(group_by(root, refs, "-o", ""), "--output", "is not a regular file", "folder")  # '' is '.'
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and stat.S_ISCHR(os.stat(null).st_mode)
    assert not list(Path.cwd().glob(".png")), "an empty name no longer writes '.png' in the working folder"
    if PROC:
        refused(group_by(root, refs, "-o", "/proc/bands.png"), "cannot write /proc/bands.png")


def test_compare_bands_make_a_missing_folder_and_keep_the_format_of_the_name(two_runs, tmp_path):
    pytest.importorskip("matplotlib", reason="the report extra is not installed")
    root, refs = two_runs
    png = tmp_path / "new" / "deeper" / "bands.png"
    result = group_by(root, refs, "-o", str(png))
    assert result.exit_code == 0 and crashed(result) is None, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "bands.svg"
    assert group_by(root, refs, "-o", str(svg)).exit_code == 0 and b"<svg" in svg.read_bytes()[:400]
    bare = tmp_path / "bands"  # matplotlib alone would write bands.png and the command say it wrote bands
    assert group_by(root, refs, "-o", str(bare)).exit_code == 0 and bare.read_bytes()[:4] == b"\x89PNG"
    leftovers = [p.name for p in tmp_path.rglob(".*.tmp")]
    assert leftovers == [], leftovers


def test_export_into_a_missing_folder_makes_it(two_runs, tmp_path):
    root, refs = two_runs
    csv = tmp_path / "new" / "metrics.csv"
    result = invoke("export", refs[0], "-o", str(csv), runs=root)
    assert result.exit_code == 0 and crashed(result) is None, result.output
    assert csv.read_text().startswith("run,epoch,")


def test_sample_never_replaces_a_file_that_appeared_while_it_sampled(template_run, tmp_path, monkeypatch):
    """Two `sample -o same.png` at once, or a file the user saved meanwhile: the name is checked before
    sampling, so without a last-moment check the later writer replaced the other's grid."""
    import diffdash.metrics.evaluate as evaluate

    run = copy_run(template_run, tmp_path / "runs")
    target = tmp_path / "same.png"
    real_generate = evaluate.generate

    def generate_while_someone_writes(*args, **kwargs):
        x = real_generate(*args, **kwargs)
        target.write_bytes(b"the other process's grid")  # lands after the name was chosen, before the write
        return x

    monkeypatch.setattr(evaluate, "generate", generate_while_someone_writes)
    result = invoke("sample", run.name, "-n", "4", "--no-show", "-o", str(target), runs=run.parent)
    assert result.exit_code == 0 and crashed(result) is None, result.output
    assert target.read_bytes() == b"the other process's grid", "the file that appeared was replaced"
    fresh = tmp_path / "same-2.png"
    assert fresh.read_bytes()[:4] == b"\x89PNG" and "wrote same-2.png beside it" in result.output, result.output
    assert [p.name for p in tmp_path.glob(".*")] == [], "no temporary file is left beside"
    monkeypatch.setattr(evaluate, "generate", real_generate)
    forced = invoke("sample", run.name, "-n", "4", "--no-show", "--force", "-o", str(target), runs=run.parent)
    assert forced.exit_code == 0 and target.read_bytes()[:4] == b"\x89PNG", "--force still overwrites"


def test_a_killed_sweeps_temporary_png_is_removed_with_the_others(template_run, tmp_path):
    from diffdash.store import RunDir, remove_stale_temp_files

    run = RunDir(copy_run(template_run, tmp_path / "runs"))
    (run.path / "eval").mkdir(exist_ok=True)
    stale = run.path / "eval" / ".guidance-epoch1-ddim2-n20-seed0.png.j5ihpbpt.tmp"  # what kill -9 left
    stale.write_bytes(b"\x89PNG half")
    kept = run.path / "eval" / "guidance-epoch1-ddim2-n20-seed0.json"
    kept.write_text("{}")
    assert stale in remove_stale_temp_files(run)
    assert not stale.exists() and kept.exists()
