"""When a sample needs the full face search, and when a cheap look will do (pure logic).

The full search (``perceive/faces.py``: the whole frame, then four tiles when it shows nobody,
then close-ups of small faces) is the dearest frame there is, and an empty room is the common
case. Once the room has been empty for EMPTY_BEFORE_WATCH samples, a sample gets a cheap look
instead (``perceive/watch.py``): motion against the last frames on a small grey image, a lower
motion threshold at the places where faces were last seen, and on every DETECT_EVERY-th sample
one whole-frame detector pass. Anything the look sees escalates to the full search of the same
frame, so a person walking in is searched for in the sample they first appear in. A full search
every FULL_EVERY samples bounds how long someone sitting perfectly still and missed by the
whole-frame pass stays unseen (at the default 2 s interval: 5 minutes).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: a box (x0, y0, x1, y1) as fractions of the frame's width and height
Box = tuple[float, float, float, float]

#: samples without a face, each a full search, before the cheap look takes over
EMPTY_BEFORE_WATCH = 3
#: a full search at least this often (in samples) however still the room is
FULL_EVERY = 150
#: every this many cheap looks (a minute at 2 s), one is also a whole-frame detector pass
DETECT_EVERY = 30
#: share of the small grey image that must change (against any of the last frames) to escalate
MOTION_SHARE = 0.004
#: share of the last faces' places that must change to escalate (a face there moves little)
PLACE_MOTION_SHARE = 0.02


class Look(enum.StrEnum):
    """What a sample does: the full search, or one of the two cheap looks."""

    FULL = "full"
    MOTION = "motion"
    DETECT = "detect"


@dataclass(frozen=True)
class RoomHistory:
    """What the room showed lately. ``empty_samples``: consecutive samples with no face;
    ``since_full``: samples since the last full search; ``last_faces``: where faces were seen
    the last time any were (empty before the first)."""

    empty_samples: int = 0
    since_full: int = 0
    last_faces: tuple[Box, ...] = ()


@dataclass(frozen=True)
class Glance:
    """What a cheap look saw. ``motion``: share (0..1) of the small grey image that changed
    against the last frames; ``place_motion``: the same inside the last faces' places (0 with
    none); ``faces``: faces found by the whole-frame pass (0 when it did not run)."""

    motion: float
    place_motion: float = 0.0
    faces: int = 0


def plan(history: RoomHistory) -> Look:
    """The look this sample starts with: FULL while faces are about, until the room has been
    empty for EMPTY_BEFORE_WATCH samples, and every FULL_EVERY samples; else DETECT on every
    DETECT_EVERY-th cheap sample and MOTION on the others."""
    if history.empty_samples < EMPTY_BEFORE_WATCH or history.since_full + 1 >= FULL_EVERY:
        return Look.FULL
    return Look.DETECT if (history.since_full + 1) % DETECT_EVERY == 0 else Look.MOTION


def escalate(glance: Glance) -> bool:
    """True when the cheap look saw something worth the full search of the same frame."""
    return glance.faces > 0 or glance.motion >= MOTION_SHARE or glance.place_motion >= PLACE_MOTION_SHARE


def after(history: RoomHistory, look: Look, faces: tuple[Box, ...]) -> RoomHistory:
    """The history once a sample is done: ``look`` is what finally ran (FULL when a cheap look
    escalated), ``faces`` where the full search found faces (always empty after a cheap look)."""
    full = look is Look.FULL
    return RoomHistory(empty_samples=0 if faces else history.empty_samples + 1,
                       since_full=0 if full else history.since_full + 1,
                       last_faces=faces or history.last_faces)
