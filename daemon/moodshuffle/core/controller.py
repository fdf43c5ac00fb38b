"""The controller: mood, policy, history, the one upcoming list and the journey target, behind
one synchronous API. No asyncio, no I/O: inputs are method calls (observations, clock ticks,
player reports, commands, library tables), outputs are the frozen ``state`` and typed events
delivered to listeners (``listener.py``).

Inputs come from one thread (the event loop); every public method but ``observe`` ends by
publishing the state when it differs meaningfully from the last one published, then delivers
the events it produced, in order. A listener may call back into the controller: its events
are delivered after the ones before them.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections import deque
from collections.abc import Callable, Sequence
from typing import Concatenate, NamedTuple, ParamSpec, TypeVar

import numpy as np

from moodshuffle.config import Config
from moodshuffle.core.events import (
    Event,
    FeedbackGiven,
    MoodChanged,
    PauseRequested,
    PlayEnded,
    PlayRequested,
    QueueReordered,
    RescanRequested,
    SensorSwitched,
    StageFailed,
    StateChanged,
    TrackFailed,
    TrackStarted,
    VolumeChanged,
)
from moodshuffle.core.listener import CoreListener, deliver
from moodshuffle.core.state import (
    SPEECH_RECENT_S,
    LibraryState,
    MoodSource,
    PlaybackState,
    PlayerAction,
    PlayerState,
    ReorderReason,
    Sensor,
    StageStatus,
    State,
    VoiceState,
    worth_publishing,
)
from moodshuffle.decide.policies import Policy
from moodshuffle.decide.ranking import PlayHistory, UpcomingTrack, rank_upcoming
from moodshuffle.decide.taste import TasteModel, feedback_reward, rebuild_taste
from moodshuffle.emotions import CLASS_VA, EMOTIONS, INDEX
from moodshuffle.estimate.mood import MoodEstimator, MoodState
from moodshuffle.library.history import FeedbackKind, FeedbackRecord, MoodContext, PlayOutcome, PlayRecord
from moodshuffle.library.table import Track, TrackTable
from moodshuffle.logs import printable
from moodshuffle.observations import Observation, VoiceObservation

log = logging.getLogger("moodshuffle")

#: a ``next`` this early in a track counts as the listener disliking it in this mood
SKIP_WINDOW_S = 30.0

P = ParamSpec("P")
R = TypeVar("R")


def _input(method: Callable[Concatenate[Controller, P], R]) -> Callable[Concatenate[Controller, P], R]:
    """Mark a public input: when the outermost one returns, publish and deliver."""

    @functools.wraps(method)
    def wrapper(self: Controller, /, *args: P.args, **kwargs: P.kwargs) -> R:
        self._depth += 1
        try:
            return method(self, *args, **kwargs)
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._settle()

    return wrapper


def pinned_mood(label: str, sensed: MoodState) -> MoodState:
    """The mood ``label`` (one of EMOTIONS) as a certain mood state; faces, evidence and voice
    stay what was sensed."""
    probs = np.zeros(len(EMOTIONS), np.float32)
    probs[INDEX[label]] = 1.0
    v, a = CLASS_VA[INDEX[label]]
    return MoodState(probs=probs, valence=float(v), arousal=float(a), confidence=1.0, label=label,
                     faces=sensed.faces, last_evidence=sensed.last_evidence, timestamp=sensed.timestamp,
                     voice_arousal=sensed.voice_arousal, speech_recent=sensed.speech_recent)


class _OpenPlay(NamedTuple):
    """The play heard now: the track, the context it started in, and when (the controller's clock)."""

    track: Track
    context: MoodContext
    started_at: float


class Controller:
    """Owns the mood, the policy, the play history, the taste learned from the listener, the
    upcoming list and the journey target."""

    def __init__(self, cfg: Config, now: float, rng: np.random.Generator | None = None) -> None:
        self._cfg = cfg
        self._rng = rng if rng is not None else np.random.default_rng()
        self._listeners: list[CoreListener] = []
        self._outbox: deque[Event] = deque()
        self._depth = 0
        self._delivering = False
        self._published: State | None = None
        self._now = now
        self._estimator = MoodEstimator(cfg.mood)
        self._mood = self._estimator.update(now)
        self._policy = Policy(cfg.mood.policy)
        self._sensors = {
            Sensor.CAMERA: StageStatus.UNAVAILABLE if cfg.camera.enabled else StageStatus.OFF,
            Sensor.MICROPHONE: StageStatus.UNAVAILABLE if cfg.microphone.enabled else StageStatus.OFF,
        }
        self._sensor_wanted = {Sensor.CAMERA: cfg.camera.enabled, Sensor.MICROPHONE: cfg.microphone.enabled}
        self._voice_arousal: float | None = None
        self._last_speech: float | None = None
        self._history = PlayHistory()
        #: what teaches the taste model; it is learned again from these whenever the table changes
        #: (rows and features belong to a table)
        self._plays: list[PlayRecord] = []
        self._feedback: list[FeedbackRecord] = []
        self._taste = TasteModel()
        #: the play heard now (ends with a PlayEnded)
        self._open: _OpenPlay | None = None
        #: a mood set by command: (label, until in monotonic seconds or None)
        self._pinned: tuple[str, float | None] | None = None
        self._table = TrackTable.empty()
        self._scanning = False
        self._unavailable: tuple[str, ...] = ()
        self._errors: dict[str, str] = {}
        self._started = False
        self._upcoming: tuple[UpcomingTrack, ...] = ()
        self._current: Track | None = None
        #: the policy target the current track was chosen for: uplift/calm journeys go on from it
        self._current_target: tuple[float, float] | None = None
        self._skipping: int | None = None
        self._playback = PlaybackState.IDLE if cfg.player.enabled else PlaybackState.DISABLED
        self._volume = cfg.player.volume

    # ----------------------------------------------------------------- listeners and output
    def add_listener(self, listener: CoreListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: CoreListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    @property
    def state(self) -> State:
        """The state now (a new frozen value on every call)."""
        recent = self._last_speech is not None and self._now - self._last_speech <= SPEECH_RECENT_S
        volume = None if self._playback == PlaybackState.DISABLED else self._volume
        camera = self._sensors[Sensor.CAMERA]
        # the faces of the last frame seen are not in the room now that nothing looks
        mood = self._mood if camera == StageStatus.ON else dataclasses.replace(self._mood, faces=0)
        return State(
            mood=mood, policy=self._policy, camera=self._sensors[Sensor.CAMERA],
            microphone=self._sensors[Sensor.MICROPHONE], voice=VoiceState(self._voice_arousal, recent),
            player=PlayerState(self._playback, volume, self._current), upcoming=self._upcoming,
            library=LibraryState(len(self._table), self._scanning, self._unavailable),
            errors=tuple(sorted(self._errors.items())),
            mood_source=MoodSource.SET if self._pinned is not None else MoodSource.SENSED,
            mood_until=self._pinned[1] if self._pinned is not None else None,
        )

    @property
    def history(self) -> PlayHistory:
        """What has played and what was skipped, in which mood (read it, do not change it)."""
        return self._history

    @property
    def taste(self) -> TasteModel:
        """What the listener was learned to like, per mood region (read it, do not change it)."""
        return self._taste

    def sensor_wanted(self, sensor: Sensor) -> bool:
        """Whether ``sensor`` should be on (config, then the latest command): for a stage that
        (re)starts."""
        return self._sensor_wanted[sensor]

    def _emit(self, event: Event) -> None:
        self._outbox.append(event)

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

    # ----------------------------------------------------------------- mood
    def observe(self, obs: Observation) -> None:
        """One observation from a sensing stage; it counts at the next ``tick``."""
        self._estimator.observe(obs)
        if isinstance(obs, VoiceObservation):
            self._voice_arousal = float(obs.arousal)
            self._last_speech = obs.timestamp

    @_input
    def tick(self, now: float) -> None:
        """The clock (monotonic seconds): fold the observations into the mood."""
        self._now = now
        if self._pinned is not None and self._pinned[1] is not None and now >= self._pinned[1]:
            log.info("the mood set to %s has run its time: back to the sensed mood", self._pinned[0])
            self._pinned = None
        self._update_mood()

    def _update_mood(self) -> None:
        previous = self._mood
        sensed = self._estimator.update(self._now)
        self._mood = pinned_mood(self._pinned[0], sensed) if self._pinned is not None else sensed
        if self._mood.label != previous.label:
            log.info("mood changed: %s -> %s (confidence %.2f, valence %+.2f, arousal %+.2f)", previous.label,
                     self._mood.label, self._mood.confidence, self._mood.valence, self._mood.arousal)
            self._emit(MoodChanged(previous.label, self._mood.label, self._mood.confidence))
            self._current_target = None  # meet the listener where they are now
            self._reorder(ReorderReason.MOOD_CHANGED)

    # ----------------------------------------------------------------- library and sensors
    @_input
    def history_loaded(self, plays: Sequence[PlayRecord], feedback: Sequence[FeedbackRecord]) -> None:
        """The stored listening history, oldest first: restores the no-repeat window, the skips
        and the taste model (call it before ``start``; later calls add to what is known)."""
        for play in plays:
            self._history.record_play(play.track_id)
            if play.outcome == PlayOutcome.SKIPPED and play.heard_s is not None and play.heard_s < SKIP_WINDOW_S:
                self._history.record_skip(play.track_id, play.context.label)
        self._plays.extend(plays)
        self._feedback.extend(feedback)
        self._taste = rebuild_taste(self._table, self._plays, self._feedback)
        self._reorder(ReorderReason.LIBRARY)

    @_input
    def start(self) -> None:
        """Choose the first upcoming list and start playing (once the listeners are in place)."""
        self._started = True
        self._reorder(ReorderReason.START)

    @_input
    def library_loaded(self, table: TrackTable, unavailable: tuple[str, ...] = ()) -> None:
        """A new table of playable tracks, without those in the ``unavailable`` library folders
        (absolute paths); the upcoming list is chosen again from it at once."""
        self._set_library(table, unavailable)

    @_input
    def scan_started(self) -> None:
        self._scanning = True

    @_input
    def scan_finished(self, table: TrackTable | None, unavailable: tuple[str, ...] = ()) -> None:
        """A scan ended with this table and these ``unavailable`` folders (as ``library_loaded``;
        table None: the scan failed, the table stands)."""
        self._scanning = False
        if table is not None:
            self._errors.pop("library", None)
            self._set_library(table, unavailable)

    @_input
    def sensor_status(self, sensor: Sensor, status: StageStatus) -> None:
        """A sensing stage reports its status."""
        self._sensors[sensor] = status
        if status == StageStatus.ON:
            self._errors.pop(sensor.value, None)

    @_input
    def stage_failed(self, stage: str, reason: str) -> None:
        """A stage of the daemon failed (``supervise`` retries it): shown until it recovers."""
        self._errors[stage] = reason
        self._emit(StageFailed(stage, reason))

    def _set_library(self, table: TrackTable, unavailable: tuple[str, ...]) -> None:
        if unavailable != self._unavailable:
            if unavailable:
                log.warning("library unavailable: %s (its tracks are kept and played again when it is back)",
                            ", ".join(printable(f) for f in unavailable))
            else:
                log.info("library available again: %d tracks", len(table))
        self._unavailable = unavailable
        # the current track's file went with its folder: go on with another rather than let the
        # player fail it (it is not the track's fault)
        dropped = self._current is not None and _inside(self._current.path, unavailable)
        if dropped:
            self._current, self._current_target = None, None
            self._playback = PlaybackState.IDLE
        self._set_table(table)
        if dropped and self._current is None:
            self._emit(PlayRequested(None))

    def _set_table(self, table: TrackTable) -> None:
        # the table and the upcoming list change together: rows of the old table mean nothing in the new one
        self._table = table
        self._taste = rebuild_taste(table, self._plays, self._feedback)
        self._reorder(ReorderReason.LIBRARY)

    # ----------------------------------------------------------------- player reports
    @_input
    def track_started(self, track_id: int) -> None:
        """The player: the requested track is audible."""
        if self._current is None or self._current.track_id != track_id:
            return
        track = self._current
        self._history.record_play(track_id)
        context = self._context()
        self._open = _OpenPlay(track, context, self._now)
        log.info("now playing: %s - %s", printable(track.artist or "?"), printable(track.title or track.path))
        self._emit(TrackStarted(track, context))
        self._reorder(ReorderReason.TRACK_STARTED)

    @_input
    def track_finished(self, track_id: int) -> None:
        """The player: the track played to its end."""
        if self._open is not None and self._is_open(track_id):
            self._end_play(float(self._open.track.duration_s), PlayOutcome.COMPLETED)
        if self._current is not None and self._current.track_id == track_id:
            self._advance()

    @_input
    def track_stopped(self, track_id: int, position_s: float) -> None:
        """The player: the track was replaced by another after ``position_s`` (by ``next``: a
        skip)."""
        skipped = self._skipping == track_id
        if skipped:
            self._skipping = None
        if self._is_open(track_id):
            if skipped:
                self._end_skip(position_s)
            else:
                self._end_play(position_s, PlayOutcome.STOPPED)

    @_input
    def track_failed(self, track_id: int, reason: str) -> None:
        """The player: the track cannot be played. It leaves the table (never chosen again)."""
        row = np.flatnonzero(self._table.ids == track_id)
        current = self._current if self._current is not None and self._current.track_id == track_id else None
        track = current or (self._table.track(int(row[0])) if len(row) else None)
        if track is None:
            return
        log.warning("cannot play %s: %s (skipped)", printable(track.path), reason)
        if self._is_open(track_id):
            self._end_play(0.0, PlayOutcome.FAILED)
        self._emit(TrackFailed(track, reason))
        if current is not None:
            self._current = None
        self._set_table(self._table.without(track_id))
        if current is not None:
            self._advance()

    # ----------------------------------------------------------------- commands
    @_input
    def set_policy(self, policy: Policy) -> None:
        if policy != self._policy:
            log.info("policy: %s -> %s", self._policy, policy)
            self._policy = policy
            self._current_target = None
            self._reorder(ReorderReason.POLICY_CHANGED)

    @_input
    def set_sensor(self, sensor: Sensor, on: bool) -> None:
        """Switch a sensor on or off; its stage reports the resulting status."""
        self._sensor_wanted[sensor] = on
        self._emit(SensorSwitched(sensor, on))

    @_input
    def player_command(self, action: PlayerAction) -> None:
        if self._playback == PlaybackState.DISABLED:
            return
        if action == PlayerAction.PLAY:
            if self._playback == PlaybackState.PAUSED:
                self._playback = PlaybackState.PLAYING
                self._emit(PauseRequested(False))
            elif self._playback in (PlaybackState.IDLE, PlaybackState.STOPPED):
                self._advance()
        elif action == PlayerAction.PAUSE:
            if self._playback == PlaybackState.PLAYING:
                self._playback = PlaybackState.PAUSED
                self._emit(PauseRequested(True))
        elif action == PlayerAction.NEXT and self._current is not None:
            self._skipping = self._current.track_id
            if self._open is not None and self._is_open(self._current.track_id):
                # learn from the skip before choosing what follows, so that the very next track
                # answers it (chosen when the skipped one started, it would answer only the one
                # after: bench_feedback.py measures the difference); the player's own report of
                # the position comes after the next track is chosen, so the controller's clock
                # times the play, as the player itself does (no pauses subtracted)
                self._end_skip(self._now - self._open.started_at)
                self._rank(ReorderReason.SKIPPED)
            self._advance()

    @_input
    def set_volume(self, volume: int) -> None:
        """0..100 (clamped)."""
        self._volume = max(0, min(100, int(volume)))
        self._emit(VolumeChanged(self._volume))

    @_input
    def rescan(self) -> None:
        self._emit(RescanRequested())

    @_input
    def feedback(self, kind: FeedbackKind) -> bool:
        """The listener likes or dislikes the track playing now, in the mood now; False (nothing
        learned) when no track is playing."""
        track = self._current if self._playback in (PlaybackState.PLAYING, PlaybackState.PAUSED) else None
        if track is None:
            return False
        context = self._context()
        self._feedback.append(FeedbackRecord(track.track_id, track.path, 0.0, kind, context))
        row = self._row(track.track_id)
        if row is not None:
            self._taste.learn(self._table, row, context.label, feedback_reward(kind))
        log.info("%s: %s (in mood %s)", kind, track.name, context.label)
        self._emit(FeedbackGiven(track, kind, context))
        self._reorder(ReorderReason.FEEDBACK)
        return True

    @_input
    def set_mood(self, label: str | None, duration_s: float | None = None) -> None:
        """Set the mood to ``label`` (one of EMOTIONS) for ``duration_s`` seconds (None: until
        set again); ``label`` None: back to the sensed mood."""
        if label is not None and label not in INDEX:
            raise ValueError(f"mood: must be one of {', '.join(EMOTIONS)}, got {label!r}")
        if label is None:
            self._pinned = None
        else:
            self._pinned = (label, None if duration_s is None else self._now + max(0.0, float(duration_s)))
        log.info("mood %s", f"set to {label}" + (f" for {duration_s / 60:.0f} min" if duration_s else "")
                 if label is not None else "sensed again (auto)")
        self._update_mood()

    # ----------------------------------------------------------------- history and taste
    def _context(self) -> MoodContext:
        return MoodContext(self._mood.label, float(self._mood.valence), float(self._mood.arousal), self._policy.value)

    def _row(self, track_id: int) -> int | None:
        rows = np.flatnonzero(self._table.ids == track_id)
        return int(rows[0]) if len(rows) else None

    def _is_open(self, track_id: int) -> bool:
        """Whether ``track_id`` is the play heard now."""
        return self._open is not None and self._open.track.track_id == track_id

    def _end_skip(self, heard_s: float) -> None:
        """The open play was skipped after ``heard_s``: early, a dislike in the mood now."""
        assert self._open is not None
        if heard_s < SKIP_WINDOW_S:
            track_id = self._open.track.track_id
            self._history.record_skip(track_id, self._mood.label)
            log.info("skipped after %.0f s: track %d (a dislike in mood %s)", heard_s, track_id, self._mood.label)
        self._end_play(heard_s, PlayOutcome.SKIPPED)

    def _end_play(self, heard_s: float, outcome: PlayOutcome) -> None:
        """The open play ended: remember it, learn from it, tell the history."""
        assert self._open is not None
        track, context, _ = self._open
        self._open = None
        heard_s = max(0.0, float(heard_s))
        self._plays.append(PlayRecord(0, track.track_id, track.path, 0.0, float(track.duration_s), context,
                                      heard_s, outcome))
        row = self._row(track.track_id)
        if row is not None:
            self._taste.learn_play(self._table, row, context.label, outcome, heard_s)
        self._emit(PlayEnded(track, context, heard_s, outcome))

    # ----------------------------------------------------------------- the queue
    def _rank(self, reason: ReorderReason) -> None:
        current = self._current.track_id if self._current is not None else None
        # nothing learned yet: rank exactly as without a learner (no taste part, no draws)
        taste = self._taste.scores(self._table, self._mood.label, self._rng) if self._taste.evidence else None
        self._upcoming = tuple(rank_upcoming(
            self._table, self._mood, self._policy, self._history, self._cfg.player.upcoming, self._rng,
            self._cfg.mood, current=current, start=self._current_target, taste=taste,
        ))
        if len(self._table):
            self._emit(QueueReordered(reason, self._policy, self._upcoming, self._mood, self._current))

    def _reorder(self, reason: ReorderReason) -> None:
        """Choose the upcoming list again (the current track plays on); start playing when idle."""
        if not self._started or self._playback == PlaybackState.DISABLED:
            return
        self._rank(reason)
        if self._playback == PlaybackState.IDLE and self._upcoming:
            self._advance()

    def _advance(self) -> None:
        """Play the head of the upcoming list, or stop and go idle when there is none."""
        if not self._upcoming:
            self._current = None
            self._rank(ReorderReason.QUEUE_EMPTY)
        if not self._upcoming:
            if self._current is not None or self._playback != PlaybackState.IDLE:
                self._emit(PlayRequested(None))
            self._current, self._current_target = None, None
            self._playback = PlaybackState.IDLE
            return
        head, self._upcoming = self._upcoming[0], self._upcoming[1:]
        self._current, self._current_target = head.track, head.target
        self._playback = PlaybackState.PLAYING
        self._emit(PlayRequested(head.track))


def _inside(path: str, folders: tuple[str, ...]) -> bool:
    return any(path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)
