"""Messages from the training worker's thread to the dashboard's UI thread.

The engine runs in a thread worker and may not touch widgets; it posts these (`post_message` is
thread-safe) and the app handles them on its own thread. Run events themselves (step, epoch, sample ...)
are not sent one message each: a step can come hundreds of times a second, so they wait in an inbox and
`EngineEvents` only says that the inbox has something worth drawing now. The end of training is Textual's
own `Worker.StateChanged`, with the final state as the worker's result.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


class EngineEvents(Message):
    """Wake-up: the inbox holds events that should not wait for the next draw tick (anything but steps)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EngineEvents)  # one pending wake-up drains everything


@dataclass
class EngineSaid(Message):
    """One line the engine says while it works (loading data, device fallbacks): for the event line."""

    text: str
