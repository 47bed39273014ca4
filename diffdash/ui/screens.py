"""Modal screens of the dashboard: the key help and the stop/quit confirmation."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from diffdash.ui.widgets.chart_keys import CHART_HELP

HELP = f"""[b]diffdash dashboard[/b]

[b]q[/b]  quit (asks first while training; the run is checkpointed and marked stopped)
[b]ctrl+c[/b]  stop after this step, checkpoint, mark the run stopped and leave (again: leave now)
[b]x[/b]  stop training, keep the dashboard open
[b]p[/b]  pause / resume training
[b]s[/b]  sample now: write a preview grid at the current step
[b]c[/b]  checkpoint now
{CHART_HELP}
[b]← →[/b]  browse sample grids by epoch   [b]end[/b]  newest grid (follow)
[b]v[/b]  cycle grid variants (generated, reconstructions, forward process...)
[b]f[/b]  sample grid full screen (f or esc to restore)
[b]e[/b]  event log: every event of the run's metrics.jsonl (s: with the step lines; e or esc: back)
[b]ctrl+p[/b]  command palette: every command by name
[b]?[/b]  this help

In [b]diffdash watch[/b] the training keys (x p s c) only say that they belong to the training process.
Continue a stopped run with [b]diffdash resume RUN[/b]; follow any run with [b]diffdash watch RUN[/b].
[dim]press any key to close[/dim]"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static { width: 90; max-width: 95%; height: auto; padding: 1 2; border: round $accent;
        background: $surface; }
    """

    def compose(self) -> ComposeResult:
        yield Static(HELP)

    def on_key(self, event) -> None:
        event.stop()
        self.dismiss()


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y confirms, n or escape cancels, and any other key does nothing.

    A stray key (the next training key typed a moment too late) must neither stop a run nor silently
    dismiss the question, so only the two answers the footer names close it.
    """

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 72; max-width: 95%; height: auto; padding: 1 2; border: thick $warning;
        background: $surface; }
    ConfirmScreen Static { width: 1fr; height: auto; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "yes"),
        Binding("n,escape", "answer(False)", "no", key_display="n/esc"),
    ]

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            yield Static("[b]y[/b] yes    [b]n[/b] / esc  no")
        yield Footer(compact=True)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
