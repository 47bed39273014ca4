"""Requests to a training engine from a UI or a signal handler, kept free of torch.

The dashboard creates these before the engine (and torch) is imported, so its first frame does not
wait for torch to load.
"""

from __future__ import annotations

import threading


class Controls:
    """Thread-safe requests read by the engine at every step and inside sampling loops."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.sample_now = threading.Event()
        self.checkpoint_now = threading.Event()

    def should_stop(self) -> bool:
        return self.stop.is_set()

    def request_stop(self) -> None:
        """A stop the engine asks of itself (--max-time spent): acted on at the next `sync`, as a user's is."""
        self.stop.set()

    def sync(self, force: bool = False) -> None:
        """Where several workers train one run, they agree on the requests here (at each step and while
        paused), so that all act at the same step; one process has nobody to agree with."""
