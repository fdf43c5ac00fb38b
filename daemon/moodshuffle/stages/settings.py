"""What the listener commanded, kept across restarts: the volume, the policy, the camera and
microphone switches and a set mood with its end. A listener of the controller writes them to a
small JSON file beside the library index whenever one changes (atomically: a ``kill -9`` or a
power cut leaves the old file or the new one, never half of one); ``restore`` gives them back to
the controller at start, before anything is published.

The file holds nothing about the room: no mood that was sensed, no frame, no sound."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from moodshuffle.core import Controller, CoreListener, MoodSource, Sensor, SensorSwitched, StateChanged
from moodshuffle.domain.emotions import INDEX
from moodshuffle.domain.mood import MAX_MOOD_MINUTES
from moodshuffle.domain.policy import Policy
from moodshuffle.logs import printable

log = logging.getLogger("moodshuffle")

FILE_NAME = "moodshuffle-settings.json"


@dataclass(frozen=True)
class Settings:
    """``mood_until``: the wall time (Unix seconds) a set mood ends; None: until set again."""

    volume: int | None = None
    policy: str | None = None
    camera: bool | None = None
    microphone: bool | None = None
    mood: str | None = None
    mood_until: float | None = None
    mood_minutes: float | None = None


def settings_path(index_path: Path) -> Path:
    return Path(index_path).with_name(FILE_NAME)


def load(path: Path) -> Settings:
    """The settings in ``path``; empty when there is none, and when it is unreadable or damaged
    (said once in the log: the daemon starts on its configuration)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("the saved settings %s cannot be read (%s): starting from the configuration",
                    printable(str(path)), exc)
        return Settings()
    if not isinstance(data, dict):
        return Settings()
    volume, policy, mood, until, minutes = (data.get(k) for k in ("volume", "policy", "mood", "mood_until",
                                                                   "mood_minutes"))
    return Settings(
        volume=volume if isinstance(volume, int) and not isinstance(volume, bool) and 0 <= volume <= 100 else None,
        policy=policy if policy in {p.value for p in Policy} else None,
        camera=data.get("camera") if isinstance(data.get("camera"), bool) else None,
        microphone=data.get("microphone") if isinstance(data.get("microphone"), bool) else None,
        mood=mood if isinstance(mood, str) and mood in INDEX else None,
        mood_until=float(until) if isinstance(until, (int, float)) and not isinstance(until, bool) else None,
        mood_minutes=float(minutes) if isinstance(minutes, (int, float)) and not isinstance(minutes, bool)
        and 0 <= minutes <= MAX_MOOD_MINUTES else None,
    )


def restore(core: Controller, settings: Settings, wall_now: float) -> None:
    """Give ``settings`` back to ``core`` (a set mood whose end has passed stays sensed)."""
    if settings.volume is not None:
        core.set_volume(settings.volume)
    if settings.mood_minutes is not None:
        core.set_mood_minutes(settings.mood_minutes)
    if settings.policy is not None:
        core.set_policy(Policy(settings.policy))
    for sensor, on in ((Sensor.CAMERA, settings.camera), (Sensor.MICROPHONE, settings.microphone)):
        if on is not None and on != core.sensor_wanted(sensor):
            core.set_sensor(sensor, on)
    if settings.mood is not None:
        if settings.mood_until is None:
            core.set_mood(settings.mood)
        elif settings.mood_until > wall_now:
            core.set_mood(settings.mood, settings.mood_until - wall_now)


class SettingsKeeper(CoreListener):
    """Writes the commanded settings to ``path`` whenever they change. ``monotonic`` is the
    controller's clock and ``wall`` the wall clock, to store a set mood's end as a wall time."""

    def __init__(self, path: Path, core: Controller, monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self._path = path
        self._core = core
        self._monotonic = monotonic
        self._wall = wall
        self._written = load(path)
        self._failing = False

    def state_changed(self, event: StateChanged) -> None:
        self._save(event)

    def sensor_switched(self, event: SensorSwitched) -> None:
        self._save(None)

    def _save(self, event: StateChanged | None) -> None:
        state = event.state if event is not None else self._core.state
        until = None
        if state.mood_source == MoodSource.SET and state.mood_until is not None:
            # to the second: a wall time that moves with every state would rewrite the file
            until = round(self._wall() + state.mood_until - self._monotonic())
            if self._written.mood_until is not None and abs(self._written.mood_until - until) <= 2:
                until = int(self._written.mood_until)
        now = Settings(
            volume=state.player.volume, policy=state.policy.value,
            camera=self._core.sensor_wanted(Sensor.CAMERA), microphone=self._core.sensor_wanted(Sensor.MICROPHONE),
            mood=str(state.mood.label) if state.mood_source == MoodSource.SET else None,
            mood_until=None if until is None else float(until), mood_minutes=state.mood_minutes,
        )
        if now != self._written:
            self._write(now)

    def _write(self, settings: Settings) -> None:
        tmp = self._path.with_name(self._path.name + ".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(asdict(settings), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
        except OSError as exc:  # a full or read-only disk: the music goes on, the setting is not kept
            if not self._failing:
                log.warning("cannot save the settings to %s (%s): they hold until the next restart",
                            printable(str(self._path)), exc.strerror or exc)
            self._failing = True
            with contextlib.suppress(OSError):
                tmp.unlink()
            return
        self._failing = False
        self._written = settings
