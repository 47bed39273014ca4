"""The stop/quit question: only y answers yes, only n or escape answer no, and the footer names those keys."""

from __future__ import annotations

import pytest
from textual.app import App

from diffdash.ui.screens import ConfirmScreen


class Asker(App):
    """Asks once on mount and keeps every answer the dialog gives."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[bool | None] = []

    def on_mount(self) -> None:
        self.push_screen(ConfirmScreen("Stop training?"), self.answers.append)


@pytest.mark.parametrize(("key", "answer"), [("y", True), ("n", False), ("escape", False)])
async def test_y_confirms_n_and_escape_cancel(key, answer):
    app = Asker()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(key)
        await pilot.pause()
        assert app.answers == [answer] and not isinstance(app.screen, ConfirmScreen)


async def test_other_keys_leave_the_question_open():
    app = Asker()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("x", "q", "enter", "space", "Y", "1")
        await pilot.pause()
        assert app.answers == [] and isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert app.answers == [True]


async def test_footer_shows_the_answers():
    from textual.widgets import Footer

    app = Asker()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        await pilot.pause()
        keys = {(k.key_display, k.description) for k in footer.query("FooterKey")}
        assert keys == {("y", "yes"), ("n/esc", "no")}
