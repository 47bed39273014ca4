"""What a person set up in compare (the tab, the scrubbed epoch, hidden runs, the filter, the chart's view),
kept when the palette's "open run" leaves compare for a dashboard and put back when `q` comes back."""

from __future__ import annotations

from typing import Any

from textual.widgets import TabbedContent

CHART_VIEW = ("log_scale", "smoothing", "strength", "show", "x_axis", "zoom")


def view_state(app: Any) -> dict[str, Any]:
    """The compare app's view as plain values."""
    return {
        "tab": app.query_one(TabbedContent).active,
        "epoch": app.epoch,
        "follow": app.follow,
        "hidden": app.hidden_runs,
        "query": app.query_text,
        "chart": {k: getattr(app.chart, k) for k in CHART_VIEW},
    }


def put_back(app: Any, state: dict[str, Any]) -> None:
    """Set a new compare app's view to `state` (once its runs are read and its tabs have settled)."""
    app.hidden_runs = state["hidden"]
    app.query_text = state["query"]
    for key, value in state["chart"].items():
        setattr(app.chart, key, value)
    app.follow = state["follow"]
    if state["epoch"] in app.epochs and not app.follow:
        app.epoch = state["epoch"]
    app.query_one(TabbedContent).active = state["tab"]
