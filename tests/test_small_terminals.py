"""80 and 60 columns: the footer shows whole keys only (the app's own before the chart's), and compare's `h`
list says shown / hidden in words, not only in colour. The real apps on recorded runs, driven with Pilot."""

from __future__ import annotations

import pytest
from pilot_support import halfcell, wait_for
from runs_data import recorded_runs
from textual.widgets import SelectionList
from textual.widgets._footer import FooterKey
from ui_recorded import record_run

from diffdash.ui.compare_app import CompareApp
from diffdash.ui.dashboard import DashboardApp
from diffdash.ui.widgets.fitting_footer import FittingFooter


def shown_keys(app) -> list[FooterKey]:
    return [k for k in app.query(FooterKey) if k.display]


@pytest.mark.parametrize("width", [80, 60])
async def test_dashboard_footer_keeps_whole_keys_and_f(tmp_path, width):
    app = DashboardApp(record_run(tmp_path / "runs"), image_mode="halfcell", image_cls=halfcell(), poll_s=60)
    async with app.run_test(size=(width, 24)) as pilot:
        assert await wait_for(pilot, lambda: len(app.query(FooterKey)) >= 8, timeout=10)
        await pilot.pause(0.2)
        keys = shown_keys(app)
        assert all(k.region.width > 0 and k.region.right <= width for k in keys), "a footer key is cut"
        palette = [k for k in keys if k.has_class("-command-palette")]
        assert palette, "the palette's key stays"
        others = [k for k in keys if k not in palette]
        assert max(k.region.right for k in others) <= palette[0].region.x, "a key runs under the palette's key"
        actions = {k.action for k in others}
        assert "quit" in actions
        assert any(k.key == "f" for k in others), "the f (big grid) key stays"
        assert app.query_one(FittingFooter).hidden_actions  # something had to go at this width: chart keys


async def test_wide_dashboard_footer_hides_nothing(tmp_path):
    app = DashboardApp(record_run(tmp_path / "runs"), image_mode="halfcell", image_cls=halfcell(), poll_s=60)
    async with app.run_test(size=(160, 36)) as pilot:
        assert await wait_for(pilot, lambda: len(app.query(FooterKey)) >= 8, timeout=10)
        await pilot.pause(0.2)
        assert app.query_one(FittingFooter).hidden_actions == []


async def test_compare_picker_marks_shown_and_hidden_in_words(tmp_path):
    app = CompareApp(recorded_runs(tmp_path, ("small", "wide")), image_mode="halfcell", image_cls=halfcell(),
                     poll_s=60)  # fmt: skip
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("h")
        await pilot.pause(0.2)
        picker = app.screen.query_one(SelectionList)

        def prompts() -> list[str]:
            return [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)]

        assert [p.split()[:2] for p in prompts()] == [["●", "shown"], ["●", "shown"]]
        await pilot.press("down", "space")
        await pilot.pause(0.2)
        assert [p.split()[:2] for p in prompts()] == [["●", "shown"], ["○", "hidden"]]
        assert not app.runs[1].shown
