"""The controller's state as one frozen value, and the enums it is made of.

Only ``report`` turns a State into JSON (``report/payloads.py``); everything else reads the
typed fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from moodshuffle.domain.mood import MoodState
from moodshuffle.domain.policy import Policy
from moodshuffle.domain.tracks import Track, UpcomingTrack


class PlaybackState(StrEnum):
    PLAYING = "playing"
    PAUSED = "paused"
    #: stopped for shutdown
    STOPPED = "stopped"
    #: nothing to play
    IDLE = "idle"
    #: ``player.enabled: false``
    DISABLED = "disabled"


class StageStatus(StrEnum):
    """A sensing stage's status. ``ON``/``OFF`` are also the MQTT switch payloads."""

    ON = "ON"
    OFF = "OFF"
    UNAVAILABLE = "unavailable"


class Sensor(StrEnum):
    CAMERA = "camera"
    MICROPHONE = "microphone"


class PlayerAction(StrEnum):
    """What a listener can ask of the player (MQTT ``player/set``)."""

    PLAY = "play"
    PAUSE = "pause"
    NEXT = "next"


class MoodSource(StrEnum):
    """Where the mood comes from: the camera and microphone, or a listener's ``mood/set``."""

    SENSED = "sensed"
    SET = "set"


class ReorderReason(StrEnum):
    """Why the upcoming list was chosen again (snake_case, like the event types)."""

    START = "start"
    MOOD_CHANGED = "mood_changed"
    POLICY_CHANGED = "policy_changed"
    TRACK_STARTED = "track_started"
    QUEUE_EMPTY = "queue_empty"
    LIBRARY = "library"
    FEEDBACK = "feedback"
    SKIPPED = "skipped"


#: speech heard within this many seconds is recent
SPEECH_RECENT_S = 30.0


@dataclass(frozen=True)
class VoiceState:
    """arousal: vocal arousal of the latest speech in [-1, 1] (None: none heard yet);
    speech_recent: speech heard within the last SPEECH_RECENT_S seconds."""

    arousal: float | None
    speech_recent: bool


@dataclass(frozen=True)
class PlayerState:
    """volume 0..100 (None when the player is disabled); track: the current track or None;
    chosen_elsewhere: a person chose the track playing in another client of the player (MPD)."""

    state: PlaybackState
    volume: int | None
    track: Track | None
    chosen_elsewhere: bool = False


@dataclass(frozen=True)
class LibraryState:
    """tracks: playable tracks in the table; scanning: a scan is running; unavailable: the
    configured folders that are unavailable now (missing, unlistable, an empty mount point),
    whose indexed tracks are kept but not played until they are back."""

    tracks: int
    scanning: bool
    unavailable: tuple[str, ...] = ()


@dataclass(frozen=True)
class State:
    """Everything the daemon shows: the mood (and whether it is sensed or set), the policy, the
    sensors, the player, the one upcoming list and the library."""

    mood: MoodState
    policy: Policy
    camera: StageStatus
    microphone: StageStatus
    voice: VoiceState
    player: PlayerState
    upcoming: tuple[UpcomingTrack, ...]
    library: LibraryState
    #: (stage, reason) of each stage whose latest run failed (a corrupt model, a crash), by stage
    errors: tuple[tuple[str, str], ...] = ()
    #: ``SET``: the mood was set by a command and holds until ``mood_until`` (the controller's
    #: monotonic clock; None: until ``auto``)
    mood_source: MoodSource = MoodSource.SENSED
    mood_until: float | None = None
    #: how long a mood set without a duration holds, in minutes (0: until set again; Home
    #: Assistant's "set mood for" number)
    mood_minutes: float = 0.0


#: a mood that moved more than this (valence, arousal, confidence) is news at once: a change a
#: listener can see (Home Assistant shows two decimals); the one-second decay of the confidence
#: between two camera frames (about 0.03 for a still face) is not
MOOD_STEP = 0.05
#: a mood that moved less than MOOD_STEP but more than this is a drift, published at most every
#: DRIFT_INTERVAL_S (so a slow decay still reaches the dashboard, without a message a second)
MOOD_EPSILON = 0.02
DRIFT_INTERVAL_S = 10.0


def _moved(a: MoodState, b: MoodState, by: float) -> bool:
    return abs(a.valence - b.valence) > by or abs(a.arousal - b.arousal) > by or abs(a.confidence - b.confidence) > by


def mood_moved(a: MoodState, b: MoodState) -> bool:
    """A change of the mood from ``a`` (published) to ``b`` worth publishing now: another label or
    number of faces, a step of MOOD_STEP, or a drift of MOOD_EPSILON after DRIFT_INTERVAL_S."""
    if a.label != b.label or a.faces != b.faces or _moved(a, b, MOOD_STEP):
        return True
    return _moved(a, b, MOOD_EPSILON) and b.timestamp - a.timestamp >= DRIFT_INTERVAL_S


def worth_publishing(published: State | None, state: State) -> bool:
    """Whether ``state`` differs meaningfully from the state last published: anything but the
    mood by equality, the mood by ``mood_moved``. Measured against the last *published* state,
    a slow drift (a decaying mood) is published once it adds up."""
    if published is None:
        return True
    if mood_moved(published.mood, state.mood):
        return True
    return dataclasses.replace(published, mood=state.mood) != state
