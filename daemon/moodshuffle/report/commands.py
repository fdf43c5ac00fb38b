"""MQTT commands: one table from topic to payload parser and controller call (pure).

Adding a command is one line in ``COMMANDS`` (and, when its payload is new, one parser).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from moodshuffle.core import PlayerAction, Sensor, StageStatus
from moodshuffle.decide.policies import Policy

MAX_PAYLOAD = 256

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class CommandError(ValueError):
    """The payload is not valid for its topic; the message says why."""


class Controls(Protocol):
    """What a command can do: the controller's command methods (called on the event loop)."""

    def set_policy(self, policy: Policy) -> None: ...
    def set_sensor(self, sensor: Sensor, on: bool) -> None: ...
    def player_command(self, action: PlayerAction) -> None: ...
    def set_volume(self, volume: int) -> None: ...
    def rescan(self) -> None: ...


# ----------------------------------------------------------------- payload parsers
def text(payload: bytes) -> str:
    """The payload as stripped UTF-8 text of at most MAX_PAYLOAD bytes."""
    if len(payload) > MAX_PAYLOAD:
        raise CommandError(f"payload too large ({len(payload)} bytes, at most {MAX_PAYLOAD})")
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise CommandError("payload is not UTF-8") from exc


def one_of(kind: type[E]) -> Callable[[str], E]:
    """A parser for the values of a StrEnum, in any letter case."""
    by_text = {member.value.lower(): member for member in kind}

    def parse(value: str) -> E:
        if value.lower() not in by_text:
            raise CommandError(f"must be one of {', '.join(m.value for m in kind)}, got {value!r}")
        return by_text[value.lower()]

    return parse


def on_off(value: str) -> bool:
    if value.upper() not in (StageStatus.ON, StageStatus.OFF):
        raise CommandError(f"must be {StageStatus.ON.value} or {StageStatus.OFF.value}, got {value!r}")
    return value.upper() == StageStatus.ON


def volume(value: str) -> int:
    try:
        number = float(value)
    except ValueError as exc:
        raise CommandError(f"must be a number 0..100, got {value!r}") from exc
    if not math.isfinite(number) or not 0 <= number <= 100:
        raise CommandError(f"must be 0..100, got {value}")
    return int(round(number))


def anything(value: str) -> None:
    return None


# ----------------------------------------------------------------- the table
@dataclass(frozen=True)
class Route(Generic[T]):
    """A command topic: ``parse`` the payload text, then ``call`` the controls with the value."""

    parse: Callable[[str], T]
    call: Callable[[Controls, T], None]

    def run(self, controls: Controls, payload: bytes) -> None:
        """Parse ``payload`` (raise CommandError when invalid), then act on it."""
        self.call(controls, self.parse(text(payload)))


class Runnable(Protocol):
    def run(self, controls: Controls, payload: bytes) -> None: ...


#: command topic suffix under <base>/ -> route
COMMANDS: dict[str, Runnable] = {
    "policy/set": Route(one_of(Policy), lambda c, policy: c.set_policy(policy)),
    "camera/set": Route(on_off, lambda c, on: c.set_sensor(Sensor.CAMERA, on)),
    "microphone/set": Route(on_off, lambda c, on: c.set_sensor(Sensor.MICROPHONE, on)),
    "player/set": Route(one_of(PlayerAction), lambda c, action: c.player_command(action)),
    "volume/set": Route(volume, lambda c, level: c.set_volume(level)),
    "library/rescan": Route(anything, lambda c, _: c.rescan()),
}


def run_command(suffix: str, payload: bytes, controls: Controls) -> None:
    """Act on a message on ``<base>/<suffix>``; raise CommandError (nothing done) when invalid."""
    route = COMMANDS.get(suffix)
    if route is None:
        raise CommandError(f"unknown command topic {suffix!r}")
    route.run(controls, payload)
