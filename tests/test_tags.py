"""`diffdash tag`: tags kept in the run folder, shown and filtered by `runs`, on copies of recorded runs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from diffdash.cli import cli
from diffdash.store.tags import matches, read_tags, tags_path


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_tag_add_list_remove(runs):
    assert invoke("tag", "small", "baseline", "lr-2e-4").output == "small: baseline lr-2e-4\n"
    assert invoke("tag", "small", "baseline", "ema").output == "small: baseline lr-2e-4 ema\n"  # no duplicates
    assert json.loads(tags_path(runs[0]).read_text()) == ["baseline", "lr-2e-4", "ema"]  # in the run folder
    assert invoke("tag", "small").output == "baseline lr-2e-4 ema\n"
    result = invoke("tag", "small", "--rm", "lr-2e-4", "nope")
    assert result.exit_code == 0 and result.stdout == "small: baseline ema\n"
    assert "not a tag of small: nope" in result.stderr
    invoke("tag", "small", "--rm", "baseline", "ema")
    assert not tags_path(runs[0]).exists() and read_tags(runs[0]) == []
    assert invoke("tag", "small").output == "small has no tags\n"


@pytest.mark.parametrize("word", ["two words", "", "_under", "x" * 41, "a/b"])
def test_bad_tags_exit_2_and_write_nothing(runs, word):
    invoke("tag", "wide", "keep")
    result = invoke("tag", "wide", "fine", word)
    assert result.exit_code == 2 and "is not a tag" in result.output
    assert read_tags(runs[1]) == ["keep"]  # all or nothing: "fine" was not added either


def test_tag_bad_run_and_rm_without_words_exit_2(runs):
    assert invoke("tag", "nope", "x").exit_code == 2
    result = invoke("tag", "small", "--rm")
    assert result.exit_code == 2 and "--rm needs the words" in result.output


def test_runs_shows_and_filters_tags(runs):
    invoke("tag", "small", "baseline")
    invoke("tag", "deep", "baseline", "deeper")
    table = invoke("runs").output.splitlines()
    assert table[0].split()[-1] == "tags"
    assert table[1].endswith("baseline") and table[3].endswith("baseline deeper") and table[2].endswith("s")
    rows = json.loads(invoke("runs", "--json", "--tag", "baseline").output)
    assert [r["id"] for r in rows] == ["small", "deep"] and rows[1]["tags"] == ["baseline", "deeper"]
    rows = json.loads(invoke("runs", "--json", "--tag", "baseline", "--tag", "deeper").output)
    assert [r["id"] for r in rows] == ["deep"]
    result = invoke("runs", "--tag", "nothing")
    assert result.exit_code == 0 and result.output.startswith("no matching runs in ")


def test_damaged_tags_file_reads_as_no_tags(runs):
    tags_path(runs[0]).write_text("{not json")
    assert read_tags(runs[0]) == []
    assert json.loads(invoke("runs", "--json").output)[0]["tags"] == []


def test_filter_matches_name_or_tag_prefix():
    assert matches("wid", "wide 2026-x", [])
    assert matches("base", "small", ["baseline"])
    assert matches("BASE sm", "small", ["baseline"])  # every word, any case
    assert not matches("line", "small", ["baseline"])  # tags match from their start
    assert not matches("base deep", "small", ["baseline"])
