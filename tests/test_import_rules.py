"""The layering of diffdash, written as data and checked on the source.

Arrows point down only: the commands sit on top of the UI, the UI on top of the engine, the engine on top of
metrics, sampling and the processes, and those on top of the run store and config. A module that imports from a
layer above it makes the lower layer unusable without the upper one (a metric that needs the engine, a data model
that needs a widget), so every import statement is read, including the lazy ones inside functions: a lazy import
is still an arrow, it only moves the cost.

Checked here: every package and root module has a floor (`FLOORS`) and imports nothing on a higher one; no two
packages import each other, however indirectly; `click` lives in the commands and `textual` in the UI and the
commands only; and the finer rules in `RULES`. Imports under `if TYPE_CHECKING:` are annotations, never run, so
the floor and cycle checks leave them out. What still breaks a rule is listed in an allow-list with its reason,
so the test fails on any new arrow.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import diffdash
from diffdash.cli import COMMAND_MODULES

PACKAGE = Path(diffdash.__file__).resolve().parent

TEXTUAL = ("textual", "textual_image", "textual_plotext", "textual_serve")
UI = ("diffdash.ui",)
ENGINE = ("diffdash.training",)
COMMANDS = ("diffdash.commands", "diffdash.cli", "diffdash.__main__")
# the UI's data models: what the dashboard and compare show, as plain data the widgets draw
UI_DATA = ("diffdash.ui.run_view", "diffdash.ui.compare_data", "diffdash.ui.chart_series", "diffdash.ui.chart_views")
BELOW_ENGINE = ("diffdash.metrics", "diffdash.runs.trained_network", "diffdash.degradations", *UI_DATA)


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
        forbidden=("diffdash.mnist.load",),
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
    ),
    "click-only-in-commands": Rule(
        "options are parsed where the command line is: the library takes values and raises errors, so it runs "
        "without click (a worker, a notebook, a study file)",
        subjects=("diffdash",),
        not_subjects=COMMANDS,
        forbidden=("click",),
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


# ---------------------------------------------------------------- floors and cycles, package by package
# A unit is a package under diffdash/ or a module at its root. Each stands on a floor and imports only units on
# its own floor or below (and, on its own floor, never in a circle: see the cycle test).
FLOORS: dict[int, tuple[str, ...]] = {
    0: (  # plain helpers: no run, no torch model, no UI
        "__init__",
        "checkpoint",
        "controls",
        "formats",
        "fsutil",
    ),
    1: (  # what a run is and where it trains: its options, config, data, processes, networks, machine
        "degradations",
        "diffusion",
        "machine",
        "mnist",
        "models",
        "options",
    ),
    2: (  # the run folder and every file in it
        "store",
    ),
    3: (  # what is read from run folders and computed on runs: below the engine, above the store
        "bridges",
        "compare",
        "distributed",
        "metrics",
        "runs",
    ),
    4: (  # the engine: one process's loop, and one data-parallel worker's life
        "training",
    ),
    5: (  # what drives the engine: torchrun's entry point, the study runner
        "study",
        "worker",
    ),
    6: ("ui",),
    7: (
        "__main__",
        "cli",
        "commands",
    ),
}
FLOOR = {unit: floor for floor, units in FLOORS.items() for unit in units}
# Arrows that still break the floors or make a cycle, each with its owner's reason. Remove a line when its
# arrow is gone; the test fails on any arrow not listed.
ALLOWED_UP: dict[tuple[str, str], str] = {}
ALLOWED_CYCLE_ARROWS: dict[tuple[str, str], str] = {
    # The option table is below the networks, processes and degradations (they read their choices and options
    # from it); it looks up the names in their registries (a network, schedule, sampler or degradation is one
    # module plus a line there) only inside the choice functions, when a choice is checked or listed.
    # `test_the_option_table_reads_registries_only_lazily` keeps these arrows out of import time.
    # A network is one module under models/ that declares its own options: the table gathers them at import
    # time through the networks' torch-free registry, and a network module reads only the option vocabulary
    # (options/option.py, values.py) back, so no module imports itself in a circle:
    # `test_the_networks_and_the_option_table_import_no_module_in_a_circle` checks that, module by module.
    ("options", "models"): "options/table.py: each network's options; options/run_options.py: `--net`'s choices",
    ("options", "degradations"): "options/cold_options.py: the degradations' names (`--degradation`'s choices)",
    ("options", "diffusion"): "options/run_options.py: the schedules' and samplers' names, default samplers and "
    "--sampler's help (built when the table is: the samplers' registry, no sampler module)",
}
REGISTRY_PACKAGES = ("diffdash.models", "diffdash.diffusion", "diffdash.degradations")


def unit_of(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "diffdash":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def runtime_imports(path: Path) -> set[str]:
    """`imported_names` without the imports under `if TYPE_CHECKING:` (annotations only: never executed)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = [ast.Pass()]
    module = module_name(path)
    return imported_names(ast.unparse(tree), module, path.name == "__init__.py")


@pytest.fixture(scope="module")
def unit_arrows() -> dict[tuple[str, str], list[str]]:
    """(from unit, to unit) -> the imports that make the arrow, for every arrow between two units."""
    modules = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    arrows: dict[tuple[str, str], list[str]] = {}
    for module, path in modules.items():
        for name in runtime_imports(path):
            if name not in modules and name.rsplit(".", 1)[0] not in modules:
                continue  # `from a import b` names a.b: only real modules (or names in them) make an arrow
            a = unit_of(module)
            b = unit_of(name) if name in modules or name.rsplit(".", 1)[0] != "diffdash" else "__init__"
            if a and b and a != b:
                arrows.setdefault((a, b), []).append(f"{module} imports {name}")
    return arrows


def test_every_package_and_root_module_has_a_floor() -> None:
    units = {unit_of(module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert not units - set(FLOOR), f"give these a floor in FLOORS: {sorted(units - set(FLOOR))}"
    assert not set(FLOOR) - units, f"FLOORS names units that no longer exist: {sorted(set(FLOOR) - units)}"


def test_imports_only_flow_down(unit_arrows) -> None:
    up = {arrow: why for arrow, why in unit_arrows.items() if FLOOR[arrow[1]] > FLOOR[arrow[0]]}
    new = {arrow: why for arrow, why in up.items() if arrow not in ALLOWED_UP}
    assert not new, "imports from a higher floor:\n  " + "\n  ".join(
        f"{a} (floor {FLOOR[a]}) -> {b} (floor {FLOOR[b]}): {why[0]}" for (a, b), why in sorted(new.items())
    )
    stale = set(ALLOWED_UP) - set(up)
    assert not stale, f"ALLOWED_UP lists arrows that are gone (remove them): {sorted(stale)}"


def cycles(arrows: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected groups of more than one unit (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b in arrows:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_cycles_between_packages(unit_arrows) -> None:
    arrows = set(unit_arrows) - set(ALLOWED_CYCLE_ARROWS) - set(ALLOWED_UP)
    found = cycles(arrows)
    assert not found, "packages that import each other (directly or through others):\n  " + "\n  ".join(
        " <-> ".join(group) + ": " + "; ".join(
            unit_arrows[(a, b)][0] for a in group for b in group if (a, b) in unit_arrows
        ) for group in found
    )  # fmt: skip
    stale = set(ALLOWED_CYCLE_ARROWS) - set(unit_arrows)
    assert not stale, f"ALLOWED_CYCLE_ARROWS lists arrows that are gone (remove them): {sorted(stale)}"


def test_the_checks_catch_a_cycle_and_a_floor_broken() -> None:
    assert cycles({("training", "distributed"), ("distributed", "training"), ("ui", "training")}) == [
        ["distributed", "training"]
    ]
    assert cycles({("a", "b"), ("b", "c"), ("c", "a")}) == [["a", "b", "c"]]
    assert FLOOR["distributed"] < FLOOR["training"] < FLOOR["ui"] < FLOOR["commands"]


def module_level_imports(path: Path) -> set[str]:
    """What a module imports when it is imported: its top-level imports, not those inside functions."""
    tree = ast.parse(path.read_text())
    tree.body = [node for node in tree.body if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return imported_names(ast.unparse(tree), module_name(path), path.name == "__init__.py")


def test_the_option_table_reads_registries_only_lazily() -> None:
    """Importing the option table imports no process or degradation and no torch: the arrows back up (their
    names, for the choices) are taken inside functions, so the table and everything it gathers import first. The
    networks are the exception: the table gathers their options from their modules, which are torch-free when
    imported (their torch classes are made on first use)."""
    from diffdash.models import NETWORKS

    # `from diffdash.models import DEFAULT_NETWORK, network_defaults, network_options`: the registry's torch-free part
    networks = {f"diffdash.models{name}" for name in ("", ".DEFAULT_NETWORK", ".network_defaults", ".network_options")}
    eager = {
        f"{module_name(path)} imports {name}"
        for path in sorted((PACKAGE / "options").rglob("*.py"))
        for name in module_level_imports(path)
        if within(name, REGISTRY_PACKAGES) and not (path.name == "table.py" and name in networks)
    }
    assert not eager, "the option table imports these at import time:\n  " + "\n  ".join(sorted(eager))
    assert module_level_imports(PACKAGE / "options" / "run_options.py") >= {"diffdash.options.option"}
    code = "import sys, diffdash.options.table; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # run_options builds --sampler's help from the samplers' registry (a table of names, no sampler module)
    assert {m for m in loaded if within(m, REGISTRY_PACKAGES)} <= {
        "diffdash.diffusion",
        "diffdash.diffusion.samplers",
        "diffdash.models",
        *(f"diffdash.models.{name}" for name in NETWORKS),
    }
    assert "torch" not in loaded, "importing the option table imported torch (a network module imports it at the top?)"


def module_arrows() -> set[tuple[str, str]]:
    """(module, module) for every runtime import between two modules of diffdash, lazy ones included, plus the
    network registry's own imports (`importlib`, by name: models/__init__ imports each module in NETWORKS)."""
    from diffdash.models import NETWORKS

    paths = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    arrows = set()
    for module, path in paths.items():
        for name in runtime_imports(path):
            target = name if name in paths else name.rsplit(".", 1)[0]
            if target in paths and target != module:
                arrows.add((module, target))
    return arrows | {("diffdash.models", f"diffdash.models.{name}") for name in NETWORKS}


def circles_through(arrows: set[tuple[str, str]], a: str, b: str) -> list[list[str]]:
    """The circles of modules that hold a module of package `a` and one of package `b`."""
    return [g for g in cycles(arrows) if any(within(m, (a,)) for m in g) and any(within(m, (b,)) for m in g)]


def test_the_networks_and_the_option_table_import_no_module_in_a_circle() -> None:
    """The options <-> models arrow (ALLOWED_CYCLE_ARROWS) is two packages, never two modules, importing each other:
    a network module that read the table (or RunConfig) would be imported half-made while the table gathers its
    options. Checked on the modules, with the registry's by-name imports counted."""
    arrows = module_arrows()
    found = circles_through(arrows, "diffdash.options", "diffdash.models")
    assert not found, "modules of options/ and models/ importing each other:\n  " + "\n  ".join(map(str, found))
    broken = arrows | {("diffdash.models.unet", "diffdash.options.table")}
    assert circles_through(broken, "diffdash.options", "diffdash.models"), "must catch a network reading the table"
