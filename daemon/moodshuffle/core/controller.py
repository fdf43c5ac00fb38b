"""The controller: one synchronous API over the core's parts. No asyncio, no I/O: inputs
(observations, ticks, player reports, commands, tables) are method calls on one thread (the loop),
each routed to a pure part (``mood.py``, ``queue.py``, ``listening.py``, ``library.py``); outputs are
the frozen ``state`` and typed events, published when a public method but ``observe`` returns
(``publisher.py``) to the listeners (``listener.py``)."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence

import numpy as np

from moodshuffle.config import Config
from moodshuffle.core.events import (
    FeedbackGiven,
    MoodChanged,
    PlayRequested,
    RescanRequested,
    SensorSwitched,
    StageFailed,
    TrackFailed,
    TrackStarted,
)
from moodshuffle.core.library import LibraryView
from moodshuffle.core.listening import Learner, Listening
from moodshuffle.core.mood import MoodKeeper
from moodshuffle.core.publisher import Publisher, publishes
from moodshuffle.core.queue import Queue, Ranking
from moodshuffle.core.state import PlaybackState, PlayerAction, ReorderReason, Sensor, StageStatus, State, VoiceState
from moodshuffle.decide.ranking import PlayHistory, rank_upcoming
from moodshuffle.decide.taste import TasteModel, rebuild_taste
from moodshuffle.domain.emotions import EMOTIONS, INDEX, Emotion
from moodshuffle.domain.history import FeedbackKind, FeedbackRecord, MoodContext, PlayOutcome, PlayRecord, end_of_track
from moodshuffle.domain.mood import MoodState
from moodshuffle.domain.observations import Observation
from moodshuffle.domain.policy import Policy
from moodshuffle.domain.tracks import Track, TrackTable, UpcomingTrack
from moodshuffle.estimate.naming import DepartureNaming
from moodshuffle.logs import printable

log = logging.getLogger("moodshuffle")

class Controller(Publisher):
    """Owns the mood, the policy, the sensors' status, the queue, the listening history and the
    library view. ``wall``: the wall clock (Unix seconds) that times the history's records;
    ``learner``: how the taste model is learned from the history (the default learns);
    ``naming``: how the mood label reads a departure from rest (None: as the model splits it)."""

    def __init__(self, cfg: Config, now: float, rng: np.random.Generator | None = None,
                 wall: Callable[[], float] = time.time, learner: Learner = rebuild_taste,
                 naming: DepartureNaming | None = None) -> None:
        super().__init__()
        self._cfg = cfg
        self._rng = rng if rng is not None else np.random.default_rng()
        self._now = now
        self._mood = MoodKeeper(cfg.mood, now, naming)
        self._policy = Policy(cfg.mood.policy)
        self._sensor_wanted = {Sensor.CAMERA: cfg.camera.enabled, Sensor.MICROPHONE: cfg.microphone.enabled}
        self._sensors = {s: StageStatus.UNAVAILABLE if on else StageStatus.OFF for s, on in self._sensor_wanted.items()}
        self._errors: dict[str, str] = {}
        self._listening = Listening(wall, learner)
        self._library = LibraryView()
        self._queue = Queue(cfg.player.enabled, cfg.player.volume)
        self._mood_minutes = 0.0

    # ----------------------------------------------------------------- output
    @property
    def state(self) -> State:
        """The state now (a new frozen value on every call)."""
        mood = self._mood.mood
        camera = self._sensors[Sensor.CAMERA]
        # the faces of the last frame seen are not in the room now that nothing looks
        shown = mood if camera == StageStatus.ON else dataclasses.replace(mood, faces=0)
        return State(
            mood=shown, policy=self._policy, camera=camera, microphone=self._sensors[Sensor.MICROPHONE],
            voice=VoiceState(mood.voice_arousal, mood.speech_recent), player=self._queue.state,
            upcoming=self._queue.upcoming, library=self._library.state, errors=tuple(sorted(self._errors.items())),
            mood_source=self._mood.source, mood_until=self._mood.until, mood_minutes=self._mood_minutes,
        )

    @property
    def history(self) -> PlayHistory:
        """What has played and what was skipped, in which mood (read it, do not change it)."""
        return self._listening.history

    @property
    def taste(self) -> TasteModel:
        """What the listener was learned to like, per mood region (read it, do not change it)."""
        return self._listening.taste

    def sensor_wanted(self, sensor: Sensor) -> bool:
        """Whether ``sensor`` should be on (config, then the latest command), for a stage that (re)starts."""
        return self._sensor_wanted[sensor]

    # ----------------------------------------------------------------- mood
    def observe(self, obs: Observation) -> None:
        """One observation from a sensing stage; it counts at the next ``tick``."""
        self._mood.observe(obs)

    @publishes
    def tick(self, now: float) -> None:
        """The clock (monotonic seconds): fold the observations into the mood."""
        self._now = now
        self._mood_moved(self._mood.update(now))

    @publishes
    def set_mood(self, label: str | None, duration_s: float | None = None) -> None:
        """Set the mood to ``label`` (of EMOTIONS) for ``duration_s`` s (None: until set again); None: sensed."""
        if label is not None and label not in INDEX:
            raise ValueError(f"mood: must be one of {', '.join(EMOTIONS)}, got {label!r}")
        self._mood_moved(self._mood.set(None if label is None else Emotion(label), duration_s, self._now))

    @publishes
    def set_mood_minutes(self, minutes: float) -> None:
        """How long a mood set without a duration holds (0: until set again)."""
        self._mood_minutes = max(0.0, float(minutes))

    @property
    def mood_minutes(self) -> float:
        return self._mood_minutes

    def _mood_moved(self, previous: MoodState | None) -> None:
        if previous is None:
            return
        mood = self._mood.mood
        self._emit(MoodChanged(previous.label, mood.label, mood.confidence))
        self._queue.forget_target()  # meet the listener where they are now
        self._reorder(ReorderReason.MOOD_CHANGED)

    # ----------------------------------------------------------------- library and sensors
    @publishes
    def history_loaded(self, plays: Sequence[PlayRecord], feedback: Sequence[FeedbackRecord]) -> None:
        """The stored history, oldest first: restores the no-repeat window, skips and taste (before ``start``)."""
        self._listening.restore(plays, feedback, self._library.table)
        self._reorder(ReorderReason.LIBRARY)

    @publishes
    def start(self) -> None:
        """Choose the first upcoming list and start playing (once the listeners are in place)."""
        self._queue.started = True
        self._reorder(ReorderReason.START)

    @publishes
    def library_loaded(self, table: TrackTable, unavailable: tuple[str, ...] = ()) -> None:
        """A new table of playable tracks, without those in the ``unavailable`` library folders
        (absolute paths); the upcoming list is chosen again from it at once."""
        self._set_library(table, unavailable)

    @publishes
    def scan_started(self) -> None:
        self._library.scanning = True

    @publishes
    def scan_finished(self, table: TrackTable | None, unavailable: tuple[str, ...] = ()) -> None:
        """A scan ended with this table and these ``unavailable`` folders (as ``library_loaded``;
        table None: the scan failed, the table stands)."""
        self._library.scanning = False
        if table is not None:
            self._errors.pop("library", None)
            self._set_library(table, unavailable)

    @publishes
    def sensor_status(self, sensor: Sensor, status: StageStatus) -> None:
        """A sensing stage reports its status."""
        self._sensors[sensor] = status
        if status == StageStatus.ON:
            self._errors.pop(sensor.value, None)

    @publishes
    def stage_failed(self, stage: str, reason: str | None) -> None:
        """A stage of the daemon failed (``supervise`` retries it): shown until it recovers (``reason`` None)."""
        if reason is None:
            self._errors.pop(stage, None)
        else:
            self._errors[stage] = reason
            self._emit(StageFailed(stage, reason))

    def _set_library(self, table: TrackTable, unavailable: tuple[str, ...]) -> None:
        self._library.set_unavailable(unavailable, len(table))
        # the current track's file went with its folder: go on with another rather than let the
        # player fail it (it is not the track's fault)
        current = self._queue.current
        dropped = current is not None and self._library.in_unavailable(current)
        if dropped:
            self._queue.drop_current()
        self._set_table(table)
        if dropped and self._queue.current is None:
            self._emit(PlayRequested(None))

    def _set_table(self, table: TrackTable) -> None:
        # the table and the upcoming list change together: rows of the old table mean nothing in the new one
        self._library.table = table
        self._listening.relearn(table)
        self._reorder(ReorderReason.LIBRARY)

    # ----------------------------------------------------------------- player reports
    @publishes
    def track_started(self, track_id: int) -> None:
        """The player: the requested track is audible."""
        track = self._queue.current
        if track is not None and track.track_id == track_id:
            self._started(track)

    @publishes
    def track_changed(self, path: str, position_s: float) -> None:
        """The player (a server others use too) moved by itself, after ``position_s`` seconds of the
        current track (a skip), to the track at ``path``: it plays on, the upcoming list follows it."""
        if self._queue.current is not None and self._listening.is_open(self._queue.current.track_id):
            self._end_play(position_s, PlayOutcome.SKIPPED)
        if (track := self._queue.adopt(self._library.by_path(path))) is not None:
            self._started(track)

    def _started(self, track: Track) -> None:
        play = self._listening.started(track, self._context(), self._now)
        log.info("now playing: %s - %s", printable(track.artist or "?"), printable(track.title or track.path))
        self._emit(TrackStarted(track, play.context, play.started_wall))
        self._reorder(ReorderReason.TRACK_STARTED)

    @publishes
    def track_finished(self, track_id: int, played_s: float | None = None) -> None:
        """The player: the track reached its end after ``played_s`` s of playing (None: unknown)."""
        open_play = self._listening.open
        if open_play is not None and open_play.track.track_id == track_id:
            self._end_play(*end_of_track(float(open_play.track.duration_s), played_s))
        if self._queue.is_current(track_id):
            self._advance()

    @publishes
    def track_stopped(self, track_id: int, position_s: float) -> None:
        """The player: the track was replaced by another after ``position_s`` (by ``next``: a
        skip)."""
        skipped = self._queue.skipping == track_id
        if skipped:
            self._queue.skipping = None
        if self._listening.is_open(track_id):
            self._end_play(position_s, PlayOutcome.SKIPPED if skipped else PlayOutcome.STOPPED)

    @publishes
    def track_failed(self, track_id: int, reason: str) -> None:
        """The player: the track cannot be played. It leaves the table (never chosen again)."""
        current = self._queue.current if self._queue.is_current(track_id) else None
        track = current or self._library.track(track_id)
        if track is None:
            return
        log.warning("cannot play %s: %s (skipped)", printable(track.path), reason)
        if self._listening.is_open(track_id):
            self._end_play(0.0, PlayOutcome.FAILED)
        self._emit(TrackFailed(track, reason))
        if current is not None:
            self._queue.current = None
        self._set_table(self._library.table.without(track_id))
        if current is not None:
            self._advance()

    # ----------------------------------------------------------------- commands
    @publishes
    def set_policy(self, policy: Policy) -> None:
        if policy != self._policy:
            log.info("policy: %s -> %s", self._policy, policy)
            self._policy = policy
            self._queue.forget_target()
            self._reorder(ReorderReason.POLICY_CHANGED)

    @publishes
    def set_sensor(self, sensor: Sensor, on: bool) -> bool:
        """Switch a sensor on or off; its stage reports the resulting status. False (nothing
        done) for ``on`` when the configuration disables the sensor: it has no stage to switch."""
        cfg = self._cfg.camera if sensor == Sensor.CAMERA else self._cfg.microphone
        if on and not cfg.enabled:
            return False
        self._sensor_wanted[sensor] = on
        self._emit(SensorSwitched(sensor, on))
        return True

    @publishes
    def player_command(self, action: PlayerAction) -> None:
        queue = self._queue
        if queue.playback == PlaybackState.DISABLED:
            return
        if action == PlayerAction.PLAY:
            self._emit(*queue.play(self._ranking()))
        elif action == PlayerAction.PAUSE:
            self._emit(*queue.pause())
        elif action == PlayerAction.NEXT and queue.current is not None:
            queue.skipping = queue.current.track_id
            if self._listening.is_open(queue.current.track_id):
                # learn from the skip before choosing what follows, so that the very next track
                # answers it (bench_feedback.py measures it); the player's report of the position
                # comes after, so the controller's clock times the play (no pauses subtracted)
                self._end_play(self._listening.heard_s(self._now), PlayOutcome.SKIPPED)
                self._emit(*queue.rank(ReorderReason.SKIPPED, self._ranking()))
            self._advance()

    @publishes
    def set_volume(self, volume: int) -> None:
        """0..100 (clamped)."""
        self._emit(*self._queue.set_volume(volume))

    @publishes
    def rescan(self) -> None:
        self._emit(RescanRequested())

    @publishes
    def feedback(self, kind: FeedbackKind) -> bool:
        """The listener likes or dislikes the track playing now, in the mood now; False (nothing
        learned) when no track is playing."""
        queue = self._queue
        track = queue.current if queue.playback in (PlaybackState.PLAYING, PlaybackState.PAUSED) else None
        if track is None:
            return False
        context = self._context()
        record = self._listening.judged(track, kind, context, self._library.table,
                                        self._library.row(track.track_id))
        log.info("%s: %s (in mood %s)", kind, track.name, context.label)
        self._emit(FeedbackGiven(track, kind, context, record.at))
        self._reorder(ReorderReason.FEEDBACK)
        return True

    # ----------------------------------------------------------------- helpers
    def _context(self) -> MoodContext:
        mood = self._mood.mood
        return MoodContext(mood.label, float(mood.valence), float(mood.arousal), self._policy.value)

    def _end_play(self, heard_s: float, outcome: PlayOutcome) -> None:
        open_play = self._listening.open
        assert open_play is not None
        row = self._library.row(open_play.track.track_id)
        self._emit(self._listening.end(heard_s, outcome, self._library.table, row, self._mood.mood.label))

    def _choose(self, current: int | None, start: tuple[float, float] | None) -> tuple[UpcomingTrack, ...]:
        table, mood = self._library.table, self._mood.mood
        taste = self._listening.taste_scores(table, mood.label, self._rng)
        return tuple(rank_upcoming(table, mood, self._policy, self._listening.history, self._cfg.player.upcoming,
                                   self._rng, self._cfg.mood, current=current, start=start, taste=taste))

    def _ranking(self) -> Ranking:
        return Ranking(self._choose, self._mood.mood, self._policy, len(self._library.table))

    def _reorder(self, reason: ReorderReason) -> None:
        self._emit(*self._queue.reorder(reason, self._ranking()))

    def _advance(self) -> None:
        self._emit(*self._queue.advance(self._ranking()))
