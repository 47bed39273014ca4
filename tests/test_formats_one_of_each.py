"""One number formatter, one plural: chart ticks, compare's counts and the event lines write numbers one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import diffdash
from diffdash.formats import compact
from diffdash.runs.event_text import describe_event
from diffdash.ui.compare_panels import count_text
from diffdash.ui.widgets.series import linear_ticks

PACKAGE = Path(diffdash.__file__).resolve().parent


def definitions(name: str) -> list[str]:
    return [
        path.relative_to(PACKAGE).as_posix()
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef) and node.name == name
    ]


@pytest.mark.parametrize("name", ["compact", "plural", "format_seconds", "format_clock"])
def test_each_formatter_is_defined_once(name):
    assert definitions(name) == ["formats.py"]


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.25, 4, "0.25"),
        (1500, 4, "1.5k"),
        (12000, 4, "12k"),
        (1_500_000, 4, "1.5M"),
        (-12000, 4, "-12k"),
        (999_999, 4, "1M"),  # was 1000k: a mantissa rounded up to 1000 takes the next suffix
        (999_999_390, 3, "1G"),  # was 1e+03M in compare's params column
        (291_217, 3, "291k"),
    ],
)
def test_compact(value, digits, text):
    assert compact(value, digits) == text


def test_compare_counts_and_chart_ticks_use_it():
    assert [count_text(n) for n in (5000, 10_000, 65_921, 291_217, 1_234_567, 999_600)] == [
        "5000", "10k", "66k", "291k", "1.23M", "1M",
    ]  # fmt: skip
    assert linear_ticks(0, 3000, 5)[1] == ["0", "500", "1k", "1.5k", "2k", "2.5k", "3k"]


def test_event_lines_count_as_the_headless_printer_does():
    line = describe_event({"event": "start", "epochs": 1, "steps_per_epoch": 1875, "device": "cpu"})
    assert line == "started: 1 epoch of 1,875 steps on cpu"
