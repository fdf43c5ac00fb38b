"""What the controller tells its listeners: one frozen dataclass per kind of event.

Some are news (the mood changed, a track started), some are requests to an adapter (play
this track, switch the camera off); each is delivered to the listener method of the same
name (``listener.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from moodshuffle.core.state import ReorderReason, Sensor, State
from moodshuffle.domain.history import FeedbackKind, MoodContext, PlayOutcome
from moodshuffle.domain.mood import MoodState
from moodshuffle.domain.policy import Policy
from moodshuffle.domain.tracks import Track, UpcomingTrack


@dataclass(frozen=True)
class StateChanged:
    """The state differs meaningfully from the one last published (``state.worth_publishing``)."""

    state: State


@dataclass(frozen=True)
class MoodChanged:
    """The dominant mood label changed (after hysteresis)."""

    previous: str
    current: str
    confidence: float


@dataclass(frozen=True)
class QueueReordered:
    """The upcoming list was chosen again; ``mood`` and ``current`` are what it was chosen for
    and after."""

    reason: ReorderReason
    policy: Policy
    upcoming: tuple[UpcomingTrack, ...]
    mood: MoodState
    current: Track | None


@dataclass(frozen=True)
class TrackStarted:
    """The player reported that ``track`` is audible; ``context``: the mood and policy it was
    chosen in (None only from code that predates the listening history); ``at``: when, in wall
    time (Unix seconds; None: unknown, the recorder's clock then)."""

    track: Track
    context: MoodContext | None = None
    at: float | None = None


@dataclass(frozen=True)
class PlayEnded:
    """The play of ``track`` that started in ``context`` ended ``outcome`` after ``heard_s``
    seconds of listening (the history stores it, the learner has learned from it)."""

    track: Track
    context: MoodContext
    heard_s: float
    outcome: PlayOutcome


@dataclass(frozen=True)
class FeedbackGiven:
    """The listener liked or disliked ``track`` in ``context`` at wall time ``at`` (Unix seconds;
    None: unknown, the recorder's clock then): the same record the core learned from."""

    track: Track
    kind: FeedbackKind
    context: MoodContext
    at: float | None = None


@dataclass(frozen=True)
class TrackFailed:
    """``track`` cannot be played; it has left the table (the index should mark it failed)."""

    track: Track
    reason: str


@dataclass(frozen=True)
class PlayRequested:
    """The player should play ``track`` now, replacing whatever plays; None: stop."""

    track: Track | None


@dataclass(frozen=True)
class PauseRequested:
    """The player should pause (``paused``) or resume."""

    paused: bool


@dataclass(frozen=True)
class VolumeChanged:
    """The player's volume, 0..100."""

    volume: int


@dataclass(frozen=True)
class SensorSwitched:
    """A sensor should be switched on or off (off releases the device)."""

    sensor: Sensor
    on: bool


@dataclass(frozen=True)
class RescanRequested:
    """The library should be scanned now."""


@dataclass(frozen=True)
class StageFailed:
    """A stage of the daemon (``camera``, ``library``, ...) failed: it is retried (``supervise``)."""

    stage: str
    reason: str



Event = (StateChanged | MoodChanged | QueueReordered | TrackStarted | PlayEnded | FeedbackGiven | TrackFailed
         | PlayRequested | PauseRequested | VolumeChanged | SensorSwitched | RescanRequested | StageFailed)
