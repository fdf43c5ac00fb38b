"""A listener of the controller that keeps every event."""

from __future__ import annotations

import threading

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


class PlayerReportsLog:
    """What a player reports (what the controller receives), as tuples; the reports both back-ends
    record alike. Each back-end's tests add the rest in a subclass."""

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.cond = threading.Condition()

    def _add(self, *event) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def track_started(self, track_id: int) -> None:
        self._add("started", track_id)

    def track_stopped(self, track_id: int, position_s: float) -> None:
        self._add("stopped", track_id, position_s)

    def wait_for(self, pred, timeout: float = 10.0) -> tuple:
        with self.cond:
            assert self.cond.wait_for(lambda: any(pred(e) for e in self.events), timeout), self.events
            return next(e for e in self.events if pred(e))
