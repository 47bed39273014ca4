"""`diffdash runs`/`ls`, run references, rm/rename/note, through the real CLI on copies of real runs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from runs_data import RECORDED, copy_run, running_status

from diffdash.cli import cli
from diffdash.store import RunDir, read_notes, trash_dir


@pytest.fixture(scope="module")
def pair():
    """Real tiny runs recorded in tests/data: (4,8,4) and (4,8,8,4), 3 epochs each."""
    return [RECORDED / "small", RECORDED / "deep"]


@pytest.fixture
def root(pair, tmp_path, monkeypatch):
    """Four runs in start order: small (named), deep (named), two unnamed; plus a folder that is not a run."""
    root = tmp_path / "runs"
    monkeypatch.setenv("DIFFDASH_RUNS", str(root))
    specs = [
        ("20261128-100000-ddpm-aaaa", pair[0], "small", {}),
        ("20261128-110000-ddpm-bbbb", pair[1], "deep", {"state": "stopped"}),
        ("20261128-120000-ddpm-bbcc", pair[0], None, {"state": "failed", "error": "loss is nan"}),
        ("20261128-130000-ddpm-dddd", pair[1], None, {}),
    ]
    for i, (run_id, src, name, status) in enumerate(specs):
        copy_run(src, root, run_id, name=name, started=1000.0 + i, **status)
    (root / "notes-folder").mkdir()
    return root


def cli_run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def listing(*args) -> list[dict]:
    result = cli_run("runs", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_runs_table(root):
    result = cli_run("runs")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["#", "id", "name", "model"]
    assert "1  20261128-100000-ddpm-aaaa  small" in lines[1]
    assert "stopped" in lines[2] and "failed" in lines[3] and "finished" in lines[4]
    assert "4,8,8,4" in lines[2] and "3/3" in lines[2]
    assert "damaged notes-folder: not a run" in result.output
    assert cli_run("ls").output == result.output


def test_runs_json_filters_and_sort(root):
    rows = listing()
    assert [r["index"] for r in rows] == [1, 2, 3, 4, None]
    assert rows[2]["status"] == "failed" and rows[2]["error"] == "loss is nan"
    assert [r["id"][-4:] for r in listing("--status", "finished")] == ["aaaa", "dddd"]
    assert [r["id"] for r in listing("--status", "damaged")] == ["notes-folder"]
    assert len(listing("--status", "stopped", "--status", "failed")) == 2
    assert len(listing("--model", "ddpm")) == 4 and listing("--model", "cold") == []
    by_val = [r["best_val"] for r in listing("--sort", "best-val") if r["best_val"] is not None]
    assert by_val == sorted(by_val)
    assert [r["index"] for r in listing("--reverse")][-2:] == [2, 1]


def test_runs_bad_filter_exits_2(root):
    result = CliRunner().invoke(cli, ["runs", "--status", "sleeping"])
    assert result.exit_code == 2 and "sleeping" in result.output and "running" in result.output


def test_empty_runs_folder(tmp_path, monkeypatch):
    """The absolute folder (a relative ./runs says nothing about where one is) and what to do next."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIFFDASH_RUNS", raising=False)
    lines = cli_run("runs").output.splitlines()
    assert lines[0] == f"no runs in {(tmp_path / 'runs').resolve()}"
    assert "diffdash new" in lines[1] and "--runs-dir" in lines[1]


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("20261128-110000-ddpm-bbbb", "bbbb"),  # id
        ("20261128-10", "aaaa"),  # unique prefix
        ("deep", "bbbb"),  # name
        ("3", "bbcc"),  # index
        ("latest", "dddd"),
    ],
)
def test_every_kind_of_reference(root, ref, expected):
    result = cli_run("note", ref)
    assert result.exit_code == 0 and expected in result.output  # "<id> has no notes"


@pytest.mark.parametrize(
    "ref, message",
    [
        ("20261128-1", "ambiguous: it matches 4 runs"),
        ("nope", "no run matches 'nope'"),
        ("9", "run index 9 is out of range: there are 4 runs"),
    ],
)
def test_bad_references_exit_2_with_candidates(root, ref, message):
    result = CliRunner().invoke(cli, ["note", ref])
    assert result.exit_code == 2
    assert message in result.output and "candidates:" in result.output


def test_damaged_folder_breaks_nothing(root):
    run = RunDir(root / "20261128-130000-ddpm-dddd")
    run.config_path.write_text("{broken")
    rows = listing()
    assert rows[3]["status"] == "damaged" and "config.json is not valid JSON" in rows[3]["damaged"]
    assert cli_run("diff", "1", "4").exit_code == 0
    assert cli_run("export", "4").output.count("\n") == 4  # header + 3 epochs


def test_rm_moves_to_trash_and_purge_deletes(root):
    result = cli_run("rm", "small", "3")
    assert result.exit_code == 0
    assert (trash_dir(root) / "20261128-100000-ddpm-aaaa" / "metrics.jsonl").is_file()
    assert [r["id"][-4:] for r in listing() if r["index"]] == ["bbbb", "dddd"]
    assert cli_run("rm", "latest", "--purge", input="n\n").exit_code == 1  # declined: nothing deleted
    assert (root / "20261128-130000-ddpm-dddd").is_dir()
    assert cli_run("rm", "latest", "--purge", "-y").exit_code == 0
    assert not (root / "20261128-130000-ddpm-dddd").exists()


def test_rm_same_id_twice_keeps_both_in_trash(pair, root):
    assert cli_run("rm", "1").exit_code == 0
    copy_run(pair[0], root, "20261128-100000-ddpm-aaaa", name="again", started=0.0)
    assert cli_run("rm", "again").exit_code == 0
    assert sorted(p.name for p in trash_dir(root).iterdir()) == [
        "20261128-100000-ddpm-aaaa",
        "20261128-100000-ddpm-aaaa-2",
    ]


def test_rm_refuses_a_running_run_and_touches_nothing(root):
    run = RunDir(root / "20261128-130000-ddpm-dddd")
    run.write_status({**run.read_status(), **running_status()})
    result = CliRunner().invoke(cli, ["rm", "1", "latest"])
    assert result.exit_code == 2 and "is running: stop it" in result.output
    assert (root / "20261128-100000-ddpm-aaaa").is_dir() and run.path.is_dir()
    result = CliRunner().invoke(cli, ["rm", "1", "nope"])
    assert result.exit_code == 2 and (root / "20261128-100000-ddpm-aaaa").is_dir()


def test_rename(root):
    result = cli_run("rename", "latest", "wide-net")
    assert result.exit_code == 0
    run = RunDir(root / "20261128-130000-ddpm-dddd")
    assert run.read_config()["name"] == "wide-net" and run.path.is_dir()
    assert "dddd has no notes" in cli_run("note", "wide-net").output
    assert listing()[3]["name"] == "wide-net"


def test_rename_a_running_run_keeps_its_folder(root):
    run = RunDir(root / "20261128-130000-ddpm-dddd")
    run.write_status({**run.read_status(), **running_status()})
    assert cli_run("rename", "4", "live-one").exit_code == 0
    assert run.read_config()["name"] == "live-one" and run.read_status()["state"] == "running"


@pytest.mark.parametrize(
    "name, message",
    [
        ("deep", "already used by run 20261128-110000-ddpm-bbbb"),
        ("20261128-100000-ddpm-aaaa", "already used"),
        ("a/b", "not allowed"),
        ("42", "would read as a run index"),
        ("latest", "would read as a run index or 'latest'"),
    ],
)
def test_rename_bad_names_exit_2(root, name, message):
    result = CliRunner().invoke(cli, ["rename", "latest", name])
    assert result.exit_code == 2 and message in result.output
    assert RunDir(root / "20261128-130000-ddpm-dddd").read_config()["name"] is None


def test_notes_append_and_never_lose_text(root):
    assert cli_run("note", "small", "first: lr looks slow").exit_code == 0
    assert cli_run("note", "small", "second, with ünïcode and a 'quote'").exit_code == 0
    notes = read_notes(RunDir(root / "20261128-100000-ddpm-aaaa"))
    assert notes.count("\n") == 2 and "first: lr looks slow" in notes and "ünïcode and a 'quote'" in notes
    assert "second" in cli_run("note", "small").output
    assert listing()[0]["has_notes"] is True
    assert "small *" in cli_run("runs").output
    result = CliRunner().invoke(cli, ["note", "small", "   "])
    assert result.exit_code == 2 and "the note is empty" in result.output
