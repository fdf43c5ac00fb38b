"""MQTT commands: one table from topic to payload parser and controller call (pure).

Adding a command is one line in ``COMMANDS`` (and, when its payload is new, one parser).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from moodshuffle.core import PlayerAction, Sensor, StageStatus
from moodshuffle.domain.emotions import EMOTIONS
from moodshuffle.domain.history import FeedbackKind
from moodshuffle.domain.mood import MAX_MOOD_MINUTES
from moodshuffle.domain.policy import Policy

MAX_PAYLOAD = 256
#: the longest a set mood may hold (a week): a number beyond it is a typo
AUTO = "auto"

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class CommandError(ValueError):
    """The payload is not valid for its topic; the message says why."""


class Controls(Protocol):
    """What a command can do: the controller's command methods (called on the event loop), and
    ``stage_failed`` for what the bridge finds wrong with the broker (an ACL refusing it)."""

    def set_policy(self, policy: Policy) -> None: ...
    def set_sensor(self, sensor: Sensor, on: bool) -> bool: ...
    def player_command(self, action: PlayerAction) -> None: ...
    def set_volume(self, volume: int) -> None: ...
    def set_mood_minutes(self, minutes: float) -> None: ...
    @property
    def mood_minutes(self) -> float: ...
    def rescan(self) -> None: ...
    def feedback(self, kind: FeedbackKind) -> bool: ...
    def set_mood(self, label: str | None, duration_s: float | None = None) -> None: ...
    def stage_failed(self, stage: str, reason: str | None) -> None: ...


@dataclass(frozen=True)
class MoodCommand:
    """``mood/set``: ``label`` one of EMOTIONS, or None for the sensed mood (``auto``);
    ``minutes`` how long it holds (None: until set again)."""

    label: str | None
    minutes: float | None = None


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


def minutes(value: str) -> float:
    """Minutes a set mood holds: 0 (until set again) .. MAX_MOOD_MINUTES."""
    try:
        number = float(value)
    except ValueError as exc:
        raise CommandError(f"must be a number of minutes 0..{MAX_MOOD_MINUTES}, got {value!r}") from exc
    if not math.isfinite(number) or not 0 <= number <= MAX_MOOD_MINUTES:
        raise CommandError(f"must be 0..{MAX_MOOD_MINUTES} minutes, got {value}")
    return number


def anything(value: str) -> None:
    return None


def _mood_name(value: object) -> str | None:
    if not isinstance(value, str) or value.strip().lower() not in (*EMOTIONS, AUTO):
        raise CommandError(f"mood must be one of {', '.join(EMOTIONS)} or {AUTO}, got {value!r}")
    name = value.strip().lower()
    return None if name == AUTO else name


def mood(value: str) -> MoodCommand:
    """A mood name or ``auto``, or JSON ``{"mood": "happy", "minutes": 60}`` (minutes optional,
    0 < minutes <= MAX_MOOD_MINUTES, not with ``auto``)."""
    if not value.startswith("{"):
        return MoodCommand(_mood_name(value))
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise CommandError(f"not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict) or "mood" not in data:
        raise CommandError('JSON must be an object with "mood" (and optionally "minutes")')
    unknown = set(data) - {"mood", "minutes"}
    if unknown:
        raise CommandError(f"unknown key(s) {', '.join(sorted(unknown))}: only mood and minutes")
    label = _mood_name(data["mood"])
    minutes = data.get("minutes")
    if minutes is None:
        return MoodCommand(label)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not math.isfinite(minutes) \
            or not 0 < minutes <= MAX_MOOD_MINUTES:
        raise CommandError(f"minutes must be a number in (0, {MAX_MOOD_MINUTES}], got {minutes!r}")
    if label is None:
        raise CommandError(f"{AUTO} takes no minutes")
    return MoodCommand(label, float(minutes))


def _set_mood(controls: Controls, command: MoodCommand) -> None:
    """A mood without minutes holds for ``mood/minutes/set``'s minutes (0: until set again)."""
    minutes = command.minutes
    if minutes is None and command.label is not None and controls.mood_minutes > 0:
        minutes = controls.mood_minutes
    controls.set_mood(command.label, None if minutes is None else minutes * 60.0)


def _switch(sensor: Sensor) -> Callable[[Controls, bool], None]:
    def call(controls: Controls, on: bool) -> None:
        if not controls.set_sensor(sensor, on):
            raise CommandError(f"the {sensor.value} is disabled in the configuration ({sensor.value}.enabled: false)")

    return call


def _feedback(controls: Controls, kind: FeedbackKind) -> None:
    if not controls.feedback(kind):
        raise CommandError("no track is playing")


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
    "camera/set": Route(on_off, _switch(Sensor.CAMERA)),
    "microphone/set": Route(on_off, _switch(Sensor.MICROPHONE)),
    "player/set": Route(one_of(PlayerAction), lambda c, action: c.player_command(action)),
    "volume/set": Route(volume, lambda c, level: c.set_volume(level)),
    "library/rescan": Route(anything, lambda c, _: c.rescan()),
    "feedback/set": Route(one_of(FeedbackKind), _feedback),
    "mood/set": Route(mood, _set_mood),
    "mood/minutes/set": Route(minutes, lambda c, m: c.set_mood_minutes(m)),
}


def run_command(suffix: str, payload: bytes, controls: Controls) -> None:
    """Act on a message on ``<base>/<suffix>``; raise CommandError (nothing done) when invalid."""
    route = COMMANDS.get(suffix)
    if route is None:
        raise CommandError(f"unknown command topic {suffix!r}")
    route.run(controls, payload)
