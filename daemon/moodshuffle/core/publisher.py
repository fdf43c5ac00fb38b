"""How the core tells the world: an outbox of events, delivered in order to its listeners once
the outermost input returns, after the state when it changed meaningfully.

Every public input of the controller (marked ``@publishes``) ends by publishing the state when
it differs meaningfully from the last one published (``state.worth_publishing``), then delivers
the events it produced, in order. A listener may call back into the controller: its events are
delivered after the ones before them. One broken listener does not silence the others.
"""

from __future__ import annotations

import functools
import logging
from collections import deque
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from moodshuffle.core.events import Event, StateChanged
from moodshuffle.core.listener import CoreListener, deliver
from moodshuffle.core.state import State, worth_publishing

log = logging.getLogger("moodshuffle")

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="Publisher")


def publishes(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Mark a public input: when the outermost one returns, publish and deliver."""

    @functools.wraps(method)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        self._depth += 1
        try:
            return method(self, *args, **kwargs)
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._settle()

    return wrapper


class Publisher:
    """The outbox and the listeners; a subclass provides ``state``."""

    def __init__(self) -> None:
        self._listeners: list[CoreListener] = []
        self._outbox: deque[Event] = deque()
        self._depth = 0
        self._delivering = False
        self._published: State | None = None

    @property
    def state(self) -> State:
        raise NotImplementedError

    def add_listener(self, listener: CoreListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: CoreListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, *events: Event) -> None:
        self._outbox.extend(events)

    def _settle(self) -> None:
        if self._delivering:  # a listener called back: the outer loop delivers what it adds
            return
        self._delivering = True
        try:
            while True:
                state = self.state
                if worth_publishing(self._published, state):
                    self._published = state
                    self._emit(StateChanged(state))
                if not self._outbox:
                    return
                event = self._outbox.popleft()
                for listener in list(self._listeners):
                    try:
                        deliver(listener, event)
                    except Exception:  # one broken adapter must not silence the others
                        log.exception("%s failed on %s", type(listener).__name__, type(event).__name__)
        finally:
            self._delivering = False
