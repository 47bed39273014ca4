"""Helpers for Pilot tests of the real apps: the half-cell image class and polling a condition."""

from __future__ import annotations

import time


def halfcell():
    from textual_image.widget import HalfcellImage

    return HalfcellImage


async def wait_for(pilot, condition, timeout: float = 120.0) -> bool:
    """Let the app run until `condition()` holds (True) or `timeout` seconds pass (its last value)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await pilot.pause(0.1)
    return condition()
