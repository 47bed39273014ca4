"""The layering of diffdash, written as data and checked on the source.

Arrows point down only: the commands sit on top of the UI, the UI on top of the engine, the engine on top of
metrics, sampling and the processes, and those on top of the run store and config. A module that imports from a
layer above it makes the lower layer unusable without the upper one (a metric that needs the engine, a data model
that needs a widget), so every import statement is read, including the lazy ones inside functions: a lazy import
is still an arrow, it only moves the cost.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import diffdash
from diffdash.cli import COMMAND_MODULES

PACKAGE = Path(diffdash.__file__).resolve().parent

TEXTUAL = ("textual", "textual_image", "textual_plotext", "textual_serve")
UI = ("diffdash.ui",)
ENGINE = ("diffdash.engine", "diffdash.training")
COMMANDS = ("diffdash.commands", "diffdash.cli", "diffdash.__main__")
# the UI's data models: what the dashboard and compare show, as plain data the widgets draw
UI_DATA = ("diffdash.ui.run_view", "diffdash.ui.compare_data", "diffdash.ui.chart_series")
BELOW_ENGINE = ("diffdash.metrics", "diffdash.sampling", "diffdash.degradations", *UI_DATA)


@dataclass(frozen=True)
class Rule:
    """Modules under any of `subjects` import nothing under any of `forbidden`, except the `allowed` arrows."""

    why: str
    subjects: tuple[str, ...]
    forbidden: tuple[str, ...]
    not_subjects: tuple[str, ...] = ()
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)


RULES = {
    "below-engine": Rule(
        "metrics, sampling, degradations and the UI's data models are used by the engine, the UI and the "
        "commands, so they import none of those",
        subjects=BELOW_ENGINE,
        forbidden=ENGINE + COMMANDS + TEXTUAL + UI,
        allowed={m: UI_DATA for m in UI_DATA},  # one data model may read another
    ),
    "degradations-take-images": Rule(
        "a degradation is a transform of the images it is given; the data set and its pixel range come from "
        "whoever loads the data",
        subjects=("diffdash.degradations",),
        forbidden=("diffdash.data",),
    ),
    "core-has-no-ui": Rule(
        "training, the run store, metrics and studies run headless (nohup, CI, a worker process) where textual "
        "may be missing and nothing draws",
        subjects=("diffdash",),
        not_subjects=UI + COMMANDS,
        forbidden=TEXTUAL + UI,
    ),
    "commands-on-top": Rule(
        "the commands are the top layer: the library returns values and raises errors, the apps are started by "
        "a command, and parsing, printing and exit codes stay up there",
        subjects=("diffdash",),
        not_subjects=COMMANDS,
        forbidden=COMMANDS,
        allowed={
            # A study member is a `diffdash new` command line: the study parses it with the command itself and
            # builds its config as `new` does, so the options and their defaults are declared once.
            "diffdash.study.spec": ("diffdash.commands.train_commands", "diffdash.commands.new_options"),
            "diffdash.study.members": ("diffdash.commands.new_options",),
        },
    ),
    "commands-stand-alone": Rule(
        "each command module is one entry point; what two commands share lives in a helper module under "
        "diffdash/commands (common.py and the like), never in another command",
        subjects=tuple(COMMAND_MODULES),
        forbidden=tuple(COMMAND_MODULES),
    ),
    "command-helpers-below-commands": Rule(
        "helper modules under diffdash/commands serve the commands, so they import none of them",
        subjects=("diffdash.commands",),
        not_subjects=tuple(COMMAND_MODULES),
        forbidden=tuple(COMMAND_MODULES),
    ),
}


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module an import statement anywhere in `source` names, lazy ones inside functions included.

    `from a import b` names both `a` and `a.b` (b may be a submodule); relative imports are made absolute.
    """
    names: set[str] = set()
    here = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[: len(here) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def all_modules() -> dict[str, set[str]]:
    return {
        module_name(path): imported_names(path.read_text(), module_name(path), path.name == "__init__.py")
        for path in sorted(PACKAGE.rglob("*.py"))
    }


@pytest.fixture(scope="module")
def modules() -> dict[str, set[str]]:
    return all_modules()


def violations(rule: Rule, modules: dict[str, set[str]]) -> list[str]:
    found = []
    for module, names in modules.items():
        if not within(module, rule.subjects) or within(module, rule.not_subjects):
            continue
        allowed = rule.allowed.get(module, ())
        bad = {n for n in names if within(n, rule.forbidden) and not within(n, (*allowed, module))}
        # `from a.b import c` names a.b and a.b.c: say the longer one only
        found += [f"{module} imports {n}" for n in sorted(bad) if not any(o.startswith(n + ".") for o in bad)]
    return found


@pytest.mark.parametrize("rule_id", list(RULES))
def test_import_rule(rule_id: str, modules: dict[str, set[str]]) -> None:
    rule = RULES[rule_id]
    found = violations(rule, modules)
    if found:
        pytest.fail(f"{rule_id}: {rule.why}\n  " + "\n  ".join(found), pytrace=False)


@pytest.mark.parametrize("rule_id", list(RULES))
def test_every_rule_applies_to_some_module(rule_id: str, modules: dict[str, set[str]]) -> None:
    """A rule whose subjects were all renamed away would pass while checking nothing."""
    rule = RULES[rule_id]
    assert any(within(m, rule.subjects) and not within(m, rule.not_subjects) for m in modules), rule.subjects
    for module in rule.allowed:
        assert module in modules, f"{rule_id} allows an arrow from {module}, which no longer exists"


def test_the_walk_sees_lazy_relative_and_from_imports() -> None:
    source = (
        "import textual.app\n"
        "from diffdash import engine\n"
        "from . import fid\n"
        "from ..ui.widgets import series\n"
        "def later():\n"
        "    from diffdash.commands.common import find_run\n"
    )
    names = imported_names(source, "diffdash.metrics.run_eval")
    assert {"textual.app", "diffdash.engine", "diffdash.metrics.fid", "diffdash.ui.widgets.series"} <= names
    assert "diffdash.commands.common" in names
    rule = Rule("test", subjects=("diffdash.metrics",), forbidden=("diffdash.engine", "diffdash.commands"))
    assert violations(rule, {"diffdash.metrics.run_eval": names}) == [
        "diffdash.metrics.run_eval imports diffdash.commands.common.find_run",
        "diffdash.metrics.run_eval imports diffdash.engine",
    ]
