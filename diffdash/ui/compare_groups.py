"""`diffdash compare RUN... --group-by KEY` on the screen: the runs grouped by a config value (or `group`, a
study's seed groups), each group drawn as its mean curve with its band's two edges in the same colour, dimmer.

The runs of a group take the group's colour everywhere (title, summary, grids), so a run is read as one of its
group. The groups are made from the shown runs, so hiding a seed (`h`) or filtering (`/`) changes the mean,
the band and the "(n seeds)" of the legend. No widgets here; the numbers are compare.bands', the PNG's.
"""

from __future__ import annotations

from itertools import combinations

from rich.text import Text

from diffdash.compare.bands import Group, GroupRun, spread_sentence, summary_rows
from diffdash.compare.groups import SEED_GROUP, keyed_config
from diffdash.compare.shared import align, hex_to_rgb, run_colour
from diffdash.ui.chart_series import Series
from diffdash.ui.compare_data import CompareRun
from diffdash.ui.widgets.series import faint

KINDS = (("train", "train_loss"), ("val", "val_loss"))
EDGES = {"std": "mean ± 1 std", "minmax": "min and max"}  # what the legend says the dimmer lines are


def group_names(runs: list[CompareRun], key: str) -> list[str]:
    """Each run's group ("n_hidden=4,8,4"); the runs take their group's colour, by the group's first appearance.
    KeyError(key) when no run's config (nor study.json, for `group`) has the key."""
    configs = [keyed_config(r.run, r.config, key) for r in runs]
    if not any(key in c for c in configs):
        raise KeyError(key)
    names = [Group.name_for(key, c.get(key)) for c in configs]
    order = list(dict.fromkeys(names))
    for r, name in zip(runs, names, strict=True):
        r.colour = run_colour(order.index(name))
        r.rgb = hex_to_rgb(r.colour)
    return names


def shown_groups(runs: list[CompareRun], names: list[str]) -> list[tuple[Group, tuple[int, int, int]]]:
    """The groups of the shown runs, in order, each with its colour."""
    out: dict[str, tuple[Group, tuple[int, int, int]]] = {}
    for r, name in zip(runs, names, strict=True):
        if r.shown:
            group, _ = out.setdefault(name, (Group(name, []), r.rgb))
            group.runs.append(GroupRun(r.label, r.history, r.config))
    return list(out.values())


def legend_name(group: Group, key: str) -> str:
    n = len(group.runs)
    what = "seed" if key == SEED_GROUP else "run"
    return f"{group.name} ({n} {what}{'s' if n != 1 else ''})"


def group_series(runs: list[CompareRun], names: list[str], key: str, band: str) -> list[Series]:
    """Per group and loss kind: the mean (bright, a mark per epoch) and the band's low and high edges (dimmer).
    Epochs are those every run of the group reached, as in the PNG; a group of one run has no band."""
    out = []
    for group, colour in shown_groups(runs, names):
        legend = legend_name(group, key)
        for kind, what in KINDS:
            epochs, mean, low, high = group.curve(band, what)
            if not epochs:
                continue
            x = {"epoch": epochs}
            out.append(Series(f"{group.name} {kind}", x, mean, colour, smooth=False, kind=kind, group=legend,
                              epoch_marks=kind == "val"))  # fmt: skip
            if len(group.runs) > 1:
                for edge, ys in (("low", low), ("high", high)):
                    out.append(Series(f"{group.name} {kind} {edge}", x, ys, faint(colour, keep=0.55), smooth=False,
                                      kind=kind, group=legend, band=EDGES[band]))  # fmt: skip
    return out


def groups_text(runs: list[CompareRun], names: list[str], key: str, band: str) -> Text:
    """The groups' mean ± std of best validation loss and FID, and whether each pair's difference exceeds
    their spread: the sentences `compare --group-by KEY --plain` prints."""
    groups = shown_groups(runs, names)
    text = Text(f"grouped by {key}: each group's mean with a band ({EDGES[band]}) over its runs\n", style="bold")
    rows = [row[:1] + row[2:] for row in summary_rows([g for g, _ in groups])]  # the legend name gives the runs
    lines = align([rows[0]] + [[legend_name(g, key), *row[1:]] for (g, _), row in zip(groups, rows[1:], strict=True)])
    text.append(lines[0] + "\n", style="dim")
    for (_, colour), line in zip(groups, lines[1:], strict=True):
        text.append(line + "\n", style="rgb({},{},{})".format(*colour))
    for (a, _), (b, _) in combinations(groups, 2):
        text.append(f"{a.name} vs {b.name}: {spread_sentence(a, b)} {spread_sentence(a, b, 'fid')}\n")
    return text
