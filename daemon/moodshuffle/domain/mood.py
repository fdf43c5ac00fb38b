"""The smoothed mood of the room: what the estimator makes of the observations, what the
ranking follows and what the state shows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from moodshuffle.domain.emotions import Emotion, EmotionPoint

#: the longest a listener may set the mood for, in minutes (a week)
MAX_MOOD_MINUTES = 7 * 24 * 60


@dataclass(frozen=True, eq=False)
class MoodState:
    """The smoothed mood at ``timestamp`` (monotonic seconds).

    probs: (7,) over EMOTIONS, sums to 1; valence, arousal in [-1, 1]; confidence in [0, 1];
    label: the dominant class after hysteresis; faces: faces in the latest analysed frame;
    last_evidence: monotonic time of the latest face or voice observation (None: never);
    voice_arousal: smoothed vocal arousal in [-1, 1] or None; speech_recent: speech heard
    within the last 30 s; rest: (7,) over EMOTIONS, how the room's faces look at rest (the
    model's reading), sums to 1. Two states are equal when every field is (arrays elementwise).
    """

    probs: np.ndarray
    valence: float
    arousal: float
    confidence: float
    label: Emotion
    faces: int
    last_evidence: float | None
    timestamp: float
    voice_arousal: float | None = None
    speech_recent: bool = False
    rest: np.ndarray | None = None

    @property
    def point(self) -> EmotionPoint:
        """Where the mood sits in the shared emotion space."""
        return EmotionPoint(self.probs, self.valence, self.arousal)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MoodState):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self))

    def __hash__(self) -> int:
        return hash((self.label, self.valence, self.arousal, self.confidence, self.faces, self.timestamp))


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is not None and b is not None and np.array_equal(np.asarray(a), np.asarray(b))
    return a == b
