"""The listening history as values: a play (which track, in which mood and policy, how long it
was heard, how it ended), an explicit like or dislike, and the rule of what an early skip is.
Stored by ``library/history.py``; learned from by ``decide/taste.py`` and the core."""


from __future__ import annotations

import enum
from dataclasses import dataclass

from moodshuffle.domain.emotions import Emotion


class PlayOutcome(enum.StrEnum):
    """How a play ended."""

    COMPLETED = "completed"  # played to its end
    SKIPPED = "skipped"  # the listener moved on
    FAILED = "failed"  # the player could not play it
    STOPPED = "stopped"  # playback stopped, or the daemon shut down, mid-track


class FeedbackKind(enum.StrEnum):
    """An explicit judgement of the track playing (MQTT ``feedback/set``)."""

    LIKE = "like"
    DISLIKE = "dislike"


@dataclass(frozen=True)
class MoodContext:
    """The mood a track was chosen or judged in: ``label`` the mood's label, ``valence`` and
    ``arousal`` in [-1, 1], ``policy`` the policy's value (kept as stored: a policy a later
    version drops still reads)."""

    label: Emotion
    valence: float
    arousal: float
    policy: str


@dataclass(frozen=True)
class PlayRecord:
    """One stored play. ``started``: wall time (Unix seconds); ``heard_s`` and ``outcome`` are
    None until the play ended (or forever, if the daemon died during it)."""

    play_id: int
    track_id: int
    path: str
    started: float
    duration_s: float
    context: MoodContext
    heard_s: float | None
    outcome: PlayOutcome | None


@dataclass(frozen=True)
class FeedbackRecord:
    """One explicit like or dislike at wall time ``at`` (Unix seconds)."""

    track_id: int
    path: str
    at: float
    kind: FeedbackKind
    context: MoodContext


#: a skip before this many seconds (and before EARLY_SKIP_SHARE of the track) is early: the
#: listener did not want this track in this mood
EARLY_SKIP_S = 30.0
EARLY_SKIP_SHARE = 0.5


def is_early_skip(heard_s: float, duration_s: float) -> bool:
    """A skip after ``heard_s`` seconds of a track of ``duration_s`` seconds is early: before
    ``EARLY_SKIP_S`` and before ``EARLY_SKIP_SHARE`` of the track (``duration_s`` 0 or less:
    unknown, only the seconds count)."""
    share_limit = EARLY_SKIP_SHARE * duration_s if duration_s > 0 else EARLY_SKIP_S
    return heard_s < min(EARLY_SKIP_S, share_limit)


#: a wall clock more than this past the newest record is not trusted to prune by until NTP has
#: confirmed it: a Pi without a real-time clock boots with a stale or a wrong time, and 200 days
#: ahead once pruned a whole history as older than 180 days
MAX_CLOCK_LEAP_S = 30 * 86400.0


def prune_cutoff(now: float, retention_days: float, newest: float | None, synchronized: bool) -> float | None:
    """The wall time (Unix seconds) before which plays and likes may be deleted, or None when the
    clock ``now`` is not trustworthy yet: not confirmed by NTP (``synchronized``) and before the
    ``newest`` record or more than MAX_CLOCK_LEAP_S past it (``newest`` None: nothing stored)."""
    if not synchronized and newest is not None and not newest <= now <= newest + MAX_CLOCK_LEAP_S:
        return None
    return now - retention_days * 86400.0


#: a track whose end came before this share of its duration, and more than CUT_SHORT_S early, was
#: cut short (a truncated or damaged file): it did not play to its end
CUT_SHORT_SHARE = 0.9
CUT_SHORT_S = 10.0


def is_cut_short(played_s: float, duration_s: float) -> bool:
    """A track of ``duration_s`` seconds (0 or less: unknown) that reached its end after
    ``played_s`` seconds of playing ended early: before CUT_SHORT_SHARE of it, CUT_SHORT_S early."""
    return duration_s > 0 and played_s < CUT_SHORT_SHARE * duration_s and duration_s - played_s > CUT_SHORT_S


def end_of_track(duration_s: float, played_s: float | None) -> tuple[float, PlayOutcome]:
    """How a play that reached the track's end is recorded: (its duration, COMPLETED), or (the
    seconds played, STOPPED) when it was cut short (a truncated file teaches nothing of taste).
    ``played_s`` None: unknown, the duration."""
    if played_s is not None and is_cut_short(played_s, duration_s):
        return max(0.0, played_s), PlayOutcome.STOPPED
    return duration_s, PlayOutcome.COMPLETED
