"""The core's listening and taste: what has played and been skipped (the no-repeat window, the
skip penalties), the plays and likes that teach the taste model, and the play heard now.

Pure: the monotonic clock comes in as ``now``; the wall clock (for the records' times) is
injected once, so one play or one like is one record with one time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from moodshuffle.core.events import PlayEnded
from moodshuffle.decide.ranking import PlayHistory
from moodshuffle.decide.taste import TasteModel, feedback_reward, rebuild_taste
from moodshuffle.domain.emotions import Emotion
from moodshuffle.domain.history import (
    FeedbackKind,
    FeedbackRecord,
    MoodContext,
    PlayOutcome,
    PlayRecord,
    is_early_skip,
)
from moodshuffle.domain.tracks import Track, TrackTable

log = logging.getLogger("moodshuffle")


#: builds the taste model a table and the history teach (``decide.taste.rebuild_taste``; a bench
#: may hand in a learner that learns nothing, or knows the answer)
Learner = Callable[[TrackTable, Sequence[PlayRecord], Sequence[FeedbackRecord]], TasteModel]


class OpenPlay(NamedTuple):
    """The play heard now: the track, the context it started in, when (the controller's
    monotonic clock) and at what wall time (Unix seconds)."""

    track: Track
    context: MoodContext
    started_at: float
    started_wall: float


class Listening:
    """Plays, skips and likes, and the taste model learned from them (for one table at a time:
    rows and features belong to a table, so ``relearn`` on every new table)."""

    def __init__(self, wall: Callable[[], float], learner: Learner = rebuild_taste) -> None:
        self._wall = wall
        self._learner = learner
        self.history = PlayHistory()
        self.taste = TasteModel()
        self._plays: list[PlayRecord] = []
        self._feedback: list[FeedbackRecord] = []
        self.open: OpenPlay | None = None

    def restore(self, plays: Sequence[PlayRecord], feedback: Sequence[FeedbackRecord], table: TrackTable) -> None:
        """The stored history, oldest first: the no-repeat window, the early skips, the taste."""
        for play in plays:
            self.history.record_play(play.track_id)
            if play.outcome == PlayOutcome.SKIPPED and play.heard_s is not None \
                    and is_early_skip(play.heard_s, play.duration_s):
                self.history.record_skip(play.track_id, play.context.label)
        self._plays.extend(plays)
        self._feedback.extend(feedback)
        self.relearn(table)

    def relearn(self, table: TrackTable) -> None:
        """Learn the taste again from every play and like, for ``table``."""
        self.taste = self._learner(table, self._plays, self._feedback)

    def taste_scores(self, table: TrackTable, label: Emotion, rng: np.random.Generator) -> np.ndarray | None:
        """Each track's taste part in ``label``; None while nothing was learned (ranked exactly as
        without a learner: no part, no draws)."""
        return self.taste.scores(table, label, rng) if self.taste.evidence else None

    def is_open(self, track_id: int) -> bool:
        """Whether ``track_id`` is the play heard now."""
        return self.open is not None and self.open.track.track_id == track_id

    def started(self, track: Track, context: MoodContext, now: float) -> OpenPlay:
        """``track`` became audible in ``context`` at ``now``: it is the play heard now."""
        self.history.record_play(track.track_id)
        self.open = OpenPlay(track, context, now, self._wall())
        return self.open

    def heard_s(self, now: float) -> float:
        """Seconds since the play heard now started (the controller's clock, pauses included)."""
        assert self.open is not None
        return now - self.open.started_at

    def end(self, heard_s: float, outcome: PlayOutcome, table: TrackTable, row: int | None,
            mood: Emotion) -> PlayEnded:
        """The open play ended ``outcome`` after ``heard_s``: remember it and learn from it (an
        early skip is also a dislike in ``mood``, the mood now). ``row``: its row in ``table``."""
        assert self.open is not None
        track, context, _, started_wall = self.open
        self.open = None
        heard_s = max(0.0, float(heard_s))
        if outcome == PlayOutcome.SKIPPED and is_early_skip(heard_s, float(track.duration_s)):
            self.history.record_skip(track.track_id, mood)
            log.info("skipped after %.0f s: track %d (a dislike in mood %s)", heard_s, track.track_id, mood)
        self._plays.append(PlayRecord(0, track.track_id, track.path, started_wall, float(track.duration_s),
                                      context, heard_s, outcome))
        if row is not None:
            self.taste.learn_play(table, row, context.label, outcome, heard_s)
        return PlayEnded(track, context, heard_s, outcome)

    def judged(self, track: Track, kind: FeedbackKind, context: MoodContext, table: TrackTable,
               row: int | None) -> FeedbackRecord:
        """The listener liked or disliked ``track`` in ``context``: remember it and learn from it."""
        record = FeedbackRecord(track.track_id, track.path, self._wall(), kind, context)
        self._feedback.append(record)
        if row is not None:
            self.taste.learn(table, row, context.label, feedback_reward(kind))
        return record
