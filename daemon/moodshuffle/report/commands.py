"""MQTT commands: validation of payloads (pure) and the interface the daemon implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from moodshuffle.config import POLICIES

MAX_PAYLOAD = 256
#: command topic suffixes under <base>/
COMMAND_TOPICS = ("policy/set", "camera/set", "microphone/set", "player/set", "volume/set", "library/rescan")
PLAYER_COMMANDS = ("play", "pause", "next")


class CommandError(ValueError):
    """The payload is not valid for its topic; the message says why."""


@dataclass(frozen=True)
class Command:
    """A validated command: ``name`` is the topic suffix, ``value`` the parsed payload."""

    name: str
    value: str | bool | int | None


class CommandHandler(Protocol):
    """What the daemon does on a command (called on the event loop)."""

    def set_policy(self, policy: str) -> None: ...
    def set_camera(self, on: bool) -> None: ...
    def set_microphone(self, on: bool) -> None: ...
    def player_command(self, cmd: str) -> None: ...
    def set_volume(self, volume: int) -> None: ...
    def rescan(self) -> None: ...


def _text(payload: bytes) -> str:
    if len(payload) > MAX_PAYLOAD:
        raise CommandError(f"payload too large ({len(payload)} bytes, at most {MAX_PAYLOAD})")
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise CommandError("payload is not UTF-8") from exc


def parse_command(suffix: str, payload: bytes) -> Command:
    """Validate ``payload`` for the command topic ``<base>/<suffix>``; raise CommandError."""
    text = _text(payload)
    if suffix == "policy/set":
        if text.lower() not in POLICIES:
            raise CommandError(f"must be one of {', '.join(POLICIES)}, got {text!r}")
        return Command(suffix, text.lower())
    if suffix in ("camera/set", "microphone/set"):
        if text.upper() not in ("ON", "OFF"):
            raise CommandError(f"must be ON or OFF, got {text!r}")
        return Command(suffix, text.upper() == "ON")
    if suffix == "player/set":
        if text.lower() not in PLAYER_COMMANDS:
            raise CommandError(f"must be one of {', '.join(PLAYER_COMMANDS)}, got {text!r}")
        return Command(suffix, text.lower())
    if suffix == "volume/set":
        try:
            volume = float(text)
        except ValueError as exc:
            raise CommandError(f"must be a number 0..100, got {text!r}") from exc
        if not 0 <= volume <= 100 or volume != volume:
            raise CommandError(f"must be 0..100, got {text}")
        return Command(suffix, int(round(volume)))
    if suffix == "library/rescan":
        return Command(suffix, None)
    raise CommandError(f"unknown command topic {suffix!r}")


def dispatch(command: Command, handler: CommandHandler) -> None:
    """Call the handler method for ``command``."""
    name, value = command.name, command.value
    if name == "policy/set":
        handler.set_policy(str(value))
    elif name == "camera/set":
        handler.set_camera(bool(value))
    elif name == "microphone/set":
        handler.set_microphone(bool(value))
    elif name == "player/set":
        handler.player_command(str(value))
    elif name == "volume/set":
        handler.set_volume(int(value))  # type: ignore[arg-type]
    elif name == "library/rescan":
        handler.rescan()
