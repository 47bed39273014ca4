"""`diffdash compare RUN... --group-by KEY` on the screen: each group's mean curve with its band's edges in the
group's colour (dimmer), a legend "name (n seeds)", the runs coloured by their group, and hiding a seed
changing the mean and the count; driven through the real app on copies of the recorded runs."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from pilot_support import halfcell, wait_for
from runs_data import RECORDED, copy_run

from diffdash.runs.history import read_history
from diffdash.store import RunDir
from diffdash.ui.compare_app import CompareApp
from diffdash.ui.widgets.loss_chart import LossChart

# which recorded run stands in for which seed (their histories are real; only the grouping is made up)
SEEDS = {"narrow-s0": "small", "narrow-s1": "deep", "wide-s0": "wide", "wide-s1": "small"}


@pytest.fixture
def seeded(tmp_path: Path) -> list[RunDir]:
    runs = []
    for member, source in SEEDS.items():
        run = copy_run(RECORDED / source, tmp_path, f"rec-{member}", name=f"rec-{member}")
        tag = {"study": "rec", "member": member, "group": member.split("-")[0]}
        run.study_path.write_text(json.dumps(tag))
        runs.append(run)
    return runs


def val_losses(source: str) -> list[float]:
    return read_history(RunDir(RECORDED / source)).val_loss


def by_name(chart: LossChart) -> dict:
    return {s.name: s for s in chart.series}


@pytest.mark.parametrize("size", [(120, 36), (80, 24)])
async def test_seed_groups_drawn_as_mean_with_band_and_counted_in_the_legend(seeded, size):
    app = CompareApp(seeded, image_mode="halfcell", image_cls=halfcell(), poll_s=60, group_by="group")
    async with app.run_test(size=size) as pilot:
        chart = app.query_one(LossChart)
        assert await wait_for(pilot, lambda: chart.points_drawn > 0, timeout=10)
        series = by_name(chart)
        narrow = [val_losses("small"), val_losses("deep")]
        mean = [statistics.fmean(v) for v in zip(*narrow, strict=True)]
        std = [statistics.stdev(v) for v in zip(*narrow, strict=True)]
        assert series["group=narrow val"].y == pytest.approx(mean)
        assert series["group=narrow val low"].y == pytest.approx([m - s for m, s in zip(mean, std, strict=True)])
        assert series["group=narrow val high"].y == pytest.approx([m + s for m, s in zip(mean, std, strict=True)])
        mean_line, edge = series["group=wide val"], series["group=wide val high"]
        assert edge.band and not mean_line.band and sum(edge.color) < sum(mean_line.color)  # same hue, dimmer
        assert {s.group for s in chart.series} == {"group=narrow (2 seeds)", "group=wide (2 seeds)"}
        legend = str(chart.query_one(".legend").render())
        assert "group=narrow (2 seeds)" in legend and "dimmer: mean ± 1 std" in legend
        colours = {r.label: r.colour for r in app.runs}  # a run wears its group's colour everywhere
        assert colours["rec-narrow-s0"] == colours["rec-narrow-s1"] != colours["rec-wide-s0"]
        assert "group=narrow vs group=wide: best validation loss is lower" in str(app.query_one("#groups").render())

        app.hidden_runs = frozenset({1})  # `h`: hide rec-narrow-s1; its group is one run, with no band
        await pilot.pause()
        series = by_name(chart)
        assert series["group=narrow val"].y == pytest.approx(val_losses("small"))
        assert "group=narrow val low" not in series and "group=narrow (1 seed)" in {s.group for s in chart.series}


async def test_group_by_a_config_key_with_a_min_max_band(seeded):
    app = CompareApp(seeded, image_mode="halfcell", image_cls=halfcell(), poll_s=60, group_by="n_hidden",
                     band="minmax")  # fmt: skip
    async with app.run_test(size=(120, 36)) as pilot:
        chart = app.query_one(LossChart)
        assert await wait_for(pilot, lambda: chart.points_drawn > 0, timeout=10)
        series = by_name(chart)
        # small and its copy share n_hidden 4,8,4: the same curve twice, so the band closes on the mean
        assert series["n_hidden=4,8,4 val low"].y == pytest.approx(val_losses("small"))
        assert "n_hidden=8,16,8 val low" not in series  # wide alone: no band
        assert "dimmer: min and max" in str(chart.query_one(".legend").render())
        await pilot.press("g")  # another view than the loss: the runs' own lines again
        assert all(s.group is None or "n_hidden" not in s.group for s in chart.series)


def test_a_key_no_run_has_is_refused_before_the_screen_opens(seeded):
    with pytest.raises(KeyError):
        CompareApp(seeded, group_by="n_hiden")
