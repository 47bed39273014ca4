"""Study files: the shipped studies, grid expansion and run names, --only, and bad files exiting 2 naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from diffdash.cli import cli
from diffdash.study import StudyError, load_study
from diffdash.study.grid import member_name

STUDIES = Path(__file__).resolve().parent.parent / "studies"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_coursework_study_is_the_reports_four_trainings():
    study = load_study(STUDIES / "coursework.toml")
    assert study.name == "coursework"
    by_name = {m.name: m.params for m in study.members}
    assert list(by_name) == ["ddpm-16-32-32-16", "ddpm-16-32-64-32-16", "cold-k3-s0.1", "cold-k13-s7"]
    for p in by_name.values():
        assert (p["epochs"], p["batch_size"], p["lr"], p["eval_every"]) == (100, 128, 2e-4, 25)
    assert by_name["ddpm-16-32-32-16"]["n_hidden"] == "16,32,32,16"
    assert by_name["ddpm-16-32-64-32-16"]["n_hidden"] == "16,32,64,32,16"
    light, heavy = by_name["cold-k3-s0.1"], by_name["cold-k13-s7"]
    assert (light["model"], light["kernel_size"], light["kernel_std"], light["blur_schedule"]) == (
        "cold",
        3,
        0.1,
        "growing",
    )
    assert (heavy["model"], heavy["kernel_size"], heavy["kernel_std"]) == ("cold", 13, 7.0)
    assert study.report_epochs == [1, 25, 50, 75, 100]
    assert [m.run_id for m in study.members][0] == "coursework-ddpm-16-32-32-16"


def test_quick_study_is_the_same_four_on_the_bundled_subset():
    quick, full = load_study(STUDIES / "coursework-quick.toml"), load_study(STUDIES / "coursework.toml")
    assert [m.name for m in quick.members] == [m.name for m in full.members]
    for q, f in zip(quick.members, full.members, strict=True):
        assert q.params["dataset"] == "mnist-small" and q.epochs <= 2 and q.params["train_limit"] <= 256
        for key in ("model", "n_hidden", "kernel_size", "kernel_std", "blur_schedule"):
            assert q.params[key] == f.params[key], key


def test_grid_expands_to_named_runs(tmp_path):
    path = write(
        tmp_path,
        """
[study]
name = "sweep"
[defaults]
epochs = 3
[grid]
lr = [1e-4, 2e-4, 4e-4]
n-hidden = [[16, 32, 32, 16], [16, 32, 64, 32, 16]]
""",
    )
    study = load_study(path)
    names = [m.name for m in study.members]
    assert names == [
        "lr0.0001_n-hidden16-32-32-16",
        "lr0.0001_n-hidden16-32-64-32-16",
        "lr0.0002_n-hidden16-32-32-16",
        "lr0.0002_n-hidden16-32-64-32-16",
        "lr0.0004_n-hidden16-32-32-16",
        "lr0.0004_n-hidden16-32-64-32-16",
    ]
    assert study.members[3].run_id == "sweep-lr0.0002_n-hidden16-32-64-32-16"
    assert (study.members[3].params["lr"], study.members[3].params["n_hidden"]) == (2e-4, "16,32,64,32,16")
    assert all(m.epochs == 3 for m in study.members)
    assert load_study(path).members[5].name == names[5]  # the same file always gives the same names
    assert (
        member_name({"sampler": "ddim", "ema": 0.999, "keep_snapshots": True})
        == "samplerddim_ema0.999_keep-snapshotson"
    )


def test_only_by_name_or_number():
    study = load_study(STUDIES / "coursework.toml")
    assert [m.name for m in study.select(["cold-k13-s7", "2"])] == ["cold-k13-s7", "ddpm-16-32-64-32-16"]
    with pytest.raises(StudyError, match="did you mean 'cold-k13-s7'"):
        study.select(["cold-k13-s8"])
    with pytest.raises(StudyError, match=r"1\.\.4"):
        study.select(["5"])


GOOD_HEAD = '[study]\nname = "s"\n'
BAD_FILES = {
    "unknown-option": (GOOD_HEAD + "[runs.a]\nn_hiden = [4, 8]\n", "runs.a.n_hiden", "did you mean 'n_hidden'"),
    "bad-value-from-defaults": (GOOD_HEAD + "[defaults]\nlr = -1.0\n[runs.a]\nepochs = 1\n", "defaults.lr", "lr"),
    "even-kernel": (GOOD_HEAD + '[runs.a]\nmodel = "cold"\nkernel_size = 4\n', "runs.a.kernel_size", "odd"),
    "wrong-type": (GOOD_HEAD + '[runs.a]\nepochs = "many"\n', "runs.a.epochs", "many"),
    "grid-not-a-list": (GOOD_HEAD + "[grid]\nlr = 0.1\n", "grid.lr", "list"),
    "bad-grid-value": (GOOD_HEAD + '[grid]\nmodel = ["ddpm", "warm"]\n', "grid.model", "warm"),
    "reserved": (GOOD_HEAD + '[runs.a]\nname = "x"\n', "runs.a.name", "not allowed"),
    "no-name": ("[study]\n[runs.a]\nepochs = 1\n", "study.name", "name"),
    "unknown-table": (GOOD_HEAD + "[run.a]\nepochs = 1\n", "run", "did you mean 'runs'"),
    "dotted-run-name": (GOOD_HEAD + "[runs.cold-s0.1]\nepochs = 1\n", "runs.cold-s0.1", "quote"),
    "no-runs": (GOOD_HEAD, "runs", "no runs"),
    "not-toml": (GOOD_HEAD + "[runs.a\n", "not valid TOML", "line"),
    "flag-not-bool": (GOOD_HEAD + "[runs.a]\nkeep_snapshots = 1\n", "runs.a.keep_snapshots", "true or false"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_study_files_exit_2_naming_the_key(tmp_path, case):
    text, key, detail = BAD_FILES[case]
    path = write(tmp_path, text)
    for command in (["study", "status", str(path)], ["study", "run", str(path), "--runs-dir", str(tmp_path / "r")]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2, result.output
        assert key in result.output and detail in result.output, result.output
    assert not (tmp_path / "r").exists()  # nothing was created


def test_missing_study_file_exits_2(tmp_path):
    result = CliRunner().invoke(cli, ["study", "status", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2 and "no study file" in result.output


def test_the_example_studies_go_into_the_wheel_and_a_missing_one_says_where(tmp_path, monkeypatch):
    """pip installs studies/*.toml under <prefix>/share/diffdash/studies (pyproject's data-files); a user
    without the repo who types the README's `studies/coursework.toml` is told where the example is."""
    import sys

    from diffdash.study import spec

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    root = STUDIES.parent
    data_files = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    shipped = [f for globs in data_files.values() for pattern in globs for f in root.glob(pattern)]
    assert sorted(shipped) == sorted(STUDIES.glob("*.toml")) and shipped
    assert spec.EXAMPLES.parts[-3:] == ("share", "diffdash", "studies") and "share/diffdash/studies" in data_files
    (tmp_path / "coursework.toml").write_text((STUDIES / "coursework.toml").read_text())
    monkeypatch.setattr(spec, "EXAMPLES", tmp_path)  # as if installed from the wheel into this prefix
    monkeypatch.chdir(tmp_path / "..")
    result = CliRunner().invoke(cli, ["study", "status", "studies/coursework.toml"])
    assert result.exit_code == 2 and f"installed as {tmp_path / 'coursework.toml'}" in result.output


def test_only_unknown_and_bad_parallel_exit_2(tmp_path):
    base = ["study", "run", str(STUDIES / "coursework.toml"), "--runs-dir", str(tmp_path / "r")]
    result = CliRunner().invoke(cli, [*base, "--only", "ddpm-wide"])
    assert result.exit_code == 2 and "--only" in result.output and "no run 'ddpm-wide'" in result.output
    result = CliRunner().invoke(cli, [*base, "--parallel", "0"])
    assert result.exit_code == 2 and "--parallel" in result.output
    assert not (tmp_path / "r").exists()
