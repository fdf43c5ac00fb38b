"""A listener of the controller that keeps every event."""

from __future__ import annotations

from moodshuffle.core import CoreListener, Event


class Recorder(CoreListener):
    """Every event, through the same ``deliver`` the controller uses."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


def _record(method_name: str):
    def method(self, event):
        self.events.append(event)
    method.__name__ = method_name
    return method


for _name in [n for n in vars(CoreListener) if not n.startswith("_")]:
    setattr(Recorder, _name, _record(_name))
