"""The listening history, stored in the library index: plays (which track, when, in which
mood and policy, how long it was heard, how it ended) and the listener's explicit likes and
dislikes.

Every event is its own committed transaction with ``synchronous=FULL`` (one fsync of the WAL
per event, a few per track), so a ``kill -9`` or a power cut loses at most the event being
written. Rows older than ``library.history_days`` are pruned when the history opens and whenever
``prune`` is called: tastes change, and an index on a Pi's SD card should not grow forever.

A play whose end was never recorded (the daemon was killed mid-track) keeps ``outcome``
NULL: it counts for the no-repeat window but teaches nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from moodshuffle.domain.emotions import Emotion
from moodshuffle.domain.history import (
    FeedbackKind,
    FeedbackRecord,
    MoodContext,
    PlayOutcome,
    PlayRecord,
    prune_cutoff,
)
from moodshuffle.library.index import connect

log = logging.getLogger("moodshuffle.history")
#: systemd-timesyncd's mark that the clock has been synchronised since boot
TIMESYNC_MARK = Path("/run/systemd/timesync/synchronized")


def clock_synchronized() -> bool:
    """Whether NTP (systemd-timesyncd) has confirmed the wall clock since boot."""
    return TIMESYNC_MARK.exists()


class ListeningHistory:
    """Write and read the history in the index at ``path`` (thread-safe: one lock).

    ``retention_days``: ``library.history_days``; ``clock``: wall time in Unix seconds;
    ``synchronized``: whether NTP has confirmed that clock (pruning waits for a trustworthy one)."""

    def __init__(self, path: Path, retention_days: float, clock: Callable[[], float] = time.time,
                 prune_on_open: bool = True, synchronized: Callable[[], bool] = clock_synchronized) -> None:
        if retention_days <= 0:
            raise ValueError(f"library.history_days: must be > 0, got {retention_days!r}")
        self.path = Path(path)
        self.retention_days = retention_days
        self._clock = clock
        self._synchronized = synchronized
        self._db = connect(self.path)
        # each event is worth its fsync: a power cut must not take the last minutes of history
        self._db.execute("PRAGMA synchronous=FULL")
        self._lock = threading.Lock()
        if prune_on_open:  # a writer (the daemon) prunes on its own thread: another may hold the lock
            self.prune()

    # ------------------------------------------------------------------ write
    def play_started(self, track_id: int, path: str, duration_s: float, context: MoodContext,
                     at: float | None = None) -> int:
        """Record that a track started playing; returns the play id for ``play_ended``."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO plays (track_id, path, started, duration_s, mood, valence, arousal, policy)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (int(track_id), path, self._now(at), float(duration_s), context.label, float(context.valence),
                 float(context.arousal), context.policy),
            )
            return int(cur.lastrowid or 0)

    def play_ended(self, play_id: int, heard_s: float, outcome: PlayOutcome) -> None:
        """Record how play ``play_id`` ended after ``heard_s`` seconds of listening. A play
        already ended (or pruned) is left as it is: the first end is the true one."""
        with self._lock:
            self._db.execute(
                "UPDATE plays SET heard_s = ?, outcome = ? WHERE id = ? AND outcome IS NULL",
                (max(0.0, float(heard_s)), PlayOutcome(outcome).value, int(play_id)),
            )

    def feedback(self, track_id: int, path: str, kind: FeedbackKind, context: MoodContext,
                 at: float | None = None) -> FeedbackRecord:
        """Record an explicit like or dislike of a track in ``context`` at ``at`` (None: now)."""
        return self.add_feedback(FeedbackRecord(int(track_id), path, self._now(at), FeedbackKind(kind), context))

    def add_feedback(self, record: FeedbackRecord) -> FeedbackRecord:
        """Store ``record`` as it is (its time included)."""
        path, context = record.path, record.context
        with self._lock:
            self._db.execute(
                "INSERT INTO feedback (track_id, path, at, kind, mood, valence, arousal, policy)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (record.track_id, path, record.at, record.kind.value, context.label, float(context.valence),
                 float(context.arousal), context.policy),
            )
        return record

    def prune(self, now: float | None = None) -> int:
        """Delete plays and feedback older than ``retention_days``; returns how many rows went.
        Nothing goes while the clock is not trustworthy (``prune_cutoff``)."""
        with self._lock:
            newest = self._db.execute("SELECT max(t) FROM (SELECT max(started) AS t FROM plays"
                                      " UNION ALL SELECT max(at) FROM feedback)").fetchone()[0]
            clock = self._now(now)
            cutoff = prune_cutoff(clock, self.retention_days, newest, self._synchronized())
            if cutoff is None:
                log.warning("listening history: not pruned: the clock (%s) is %.0f days from the newest record "
                            "and NTP has not confirmed it (a clock without a battery?)",
                            time.strftime("%Y-%m-%d %H:%M", time.gmtime(clock)), (clock - newest) / 86400.0)
                return 0
            gone = self._db.execute("DELETE FROM plays WHERE started < ?", (cutoff,)).rowcount
            gone += self._db.execute("DELETE FROM feedback WHERE at < ?", (cutoff,)).rowcount
        return gone

    # ------------------------------------------------------------------- read
    def recent_track_ids(self, limit: int = 100_000) -> list[int]:
        """The track ids of the last ``limit`` plays, most recent last (the no-repeat window)."""
        if limit <= 0:
            return []
        with self._lock:
            rows = self._db.execute("SELECT track_id FROM plays ORDER BY started DESC, id DESC LIMIT ?",
                                    (int(limit),)).fetchall()
        return [r[0] for r in reversed(rows)]

    def plays(self) -> list[PlayRecord]:
        """Every stored play, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, track_id, path, started, duration_s, mood, valence, arousal, policy, heard_s, outcome"
                " FROM plays ORDER BY started, id"
            ).fetchall()
        return [
            PlayRecord(pid, tid, path, started, duration, MoodContext(_label(mood), v, a, policy), heard,
                       None if outcome is None else PlayOutcome(outcome))
            for pid, tid, path, started, duration, mood, v, a, policy, heard, outcome in rows
        ]

    def feedback_records(self) -> list[FeedbackRecord]:
        """Every stored like and dislike, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT track_id, path, at, kind, mood, valence, arousal, policy FROM feedback ORDER BY at, id"
            ).fetchall()
        return [FeedbackRecord(tid, path, at, FeedbackKind(kind), MoodContext(_label(mood), v, a, policy))
                for tid, path, at, kind, mood, v, a, policy in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _now(self, at: float | None) -> float:
        return float(self._clock() if at is None else at)


def _label(stored: str) -> Emotion:
    """A stored mood label (one of EMOTIONS when it was written; neutral if not)."""
    try:
        return Emotion(stored)
    except ValueError:
        return Emotion.NEUTRAL
