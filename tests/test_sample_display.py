"""`diffdash sample`: a fresh file name instead of a refusal, and the grid drawn in the terminal too."""

from __future__ import annotations

from click.testing import CliRunner

from diffdash.cli import cli
from diffdash.store import RunDir
from diffdash.training import Engine


def test_sample_picks_a_fresh_name_and_shows_the_grid(tmp_path, small_data, tiny_config):
    runs = tmp_path / "runs"
    run = RunDir.create(runs, "s")
    assert Engine(run, tiny_config(epochs=1, train_limit=64, val_limit=32, batch_size=32), data=small_data).run()
    out = tmp_path / "grid.png"
    base = ["sample", "s", "--runs-dir", str(runs), "-n", "4", "--steps", "2", "-o", str(out)]
    first = CliRunner().invoke(cli, [*base, "--no-show"])
    assert first.exit_code == 0, first.output
    before = out.read_bytes()
    second = CliRunner().invoke(cli, [*base, "--no-show"])
    assert second.exit_code == 0, second.output
    assert (tmp_path / "grid-2.png").is_file() and out.read_bytes() == before, "the first grid was overwritten"
    assert "grid.png exists: wrote grid-2.png beside it" in second.output
    forced = CliRunner().invoke(cli, [*base, "--force", "--show", "--image-mode", "halfcell", "--seed", "3"])
    assert forced.exit_code == 0 and not (tmp_path / "grid-3.png").exists()
    drawn = [line for line in forced.output.splitlines() if "▀" in line or "▄" in line]
    assert len(drawn) >= 4, "the grid was not drawn in the terminal"
    piped = CliRunner().invoke(cli, [*base, "--seed", "4"])  # not a terminal: the PNG only
    assert piped.exit_code == 0 and "▀" not in piped.output and (tmp_path / "grid-3.png").is_file()
    elsewhere = tmp_path / "new" / "folder" / "g.png"  # a folder that is not there yet: made, and said
    made = CliRunner().invoke(cli, [*base[:-1], str(elsewhere), "--no-show"])
    assert made.exit_code == 0 and elsewhere.is_file() and f"made the folder {elsewhere.parent}" in made.output
    onto_file = CliRunner().invoke(cli, [*base[:-1], str(out / "g.png"), "--no-show"])  # grid.png is a file
    assert onto_file.exit_code == 2 and "is a file, not a folder" in onto_file.output
