"""The core's mood: the estimator's sensed mood, or a mood a listener set (for a while).

Pure: the clock comes in as ``now`` (monotonic seconds)."""

from __future__ import annotations

import logging

import numpy as np

from moodshuffle.config import MoodConfig
from moodshuffle.core.state import MoodSource
from moodshuffle.domain.emotions import CLASS_VA, EMOTIONS, INDEX, Emotion
from moodshuffle.domain.mood import MoodState
from moodshuffle.domain.observations import Observation
from moodshuffle.estimate.mood import MoodEstimator
from moodshuffle.estimate.naming import DepartureNaming

log = logging.getLogger("moodshuffle")


def pinned_mood(label: Emotion, sensed: MoodState) -> MoodState:
    """The mood ``label`` as a certain mood state; faces, evidence and voice stay what was sensed."""
    probs = np.zeros(len(EMOTIONS), np.float32)
    probs[INDEX[label]] = 1.0
    v, a = CLASS_VA[INDEX[label]]
    return MoodState(probs=probs, valence=float(v), arousal=float(a), confidence=1.0, label=label,
                     faces=sensed.faces, last_evidence=sensed.last_evidence, timestamp=sensed.timestamp,
                     voice_arousal=sensed.voice_arousal, speech_recent=sensed.speech_recent)


class MoodKeeper:
    """Observations in, one mood out: sensed, or set by a listener until a time (or until set
    again)."""

    def __init__(self, cfg: MoodConfig, now: float, naming: DepartureNaming | None = None) -> None:
        self._estimator = MoodEstimator(cfg, naming)
        #: a mood set by command: (label, until in monotonic seconds or None)
        self._pinned: tuple[Emotion, float | None] | None = None
        self.mood: MoodState = self._estimator.update(now)

    @property
    def source(self) -> MoodSource:
        return MoodSource.SET if self._pinned is not None else MoodSource.SENSED

    @property
    def until(self) -> float | None:
        """When a set mood ends (monotonic seconds; None: until set again, or sensed)."""
        return self._pinned[1] if self._pinned is not None else None

    def observe(self, obs: Observation) -> None:
        """One observation; it counts at the next ``update``."""
        self._estimator.observe(obs)

    def update(self, now: float) -> MoodState | None:
        """Let a set mood whose time has run go, fold the observations into the mood at ``now``;
        returns the previous mood when the label changed (else None)."""
        if self._pinned is not None and self._pinned[1] is not None and now >= self._pinned[1]:
            log.info("the mood set to %s has run its time: back to the sensed mood", self._pinned[0])
            self._pinned = None
        return self._refresh(now)

    def set(self, label: Emotion | None, duration_s: float | None, now: float) -> MoodState | None:
        """Set the mood to ``label`` for ``duration_s`` seconds (None: until set again); ``label``
        None: back to the sensed mood. Returns the previous mood when the label changed."""
        if label is None:
            self._pinned = None
        else:
            self._pinned = (label, None if duration_s is None else now + max(0.0, float(duration_s)))
        log.info("mood %s", f"set to {label}" + (f" for {duration_s / 60:.0f} min" if duration_s else "")
                 if label is not None else "sensed again (auto)")
        return self._refresh(now)

    def _refresh(self, now: float) -> MoodState | None:
        previous = self.mood
        sensed = self._estimator.update(now)
        self.mood = pinned_mood(self._pinned[0], sensed) if self._pinned is not None else sensed
        if self.mood.label == previous.label:
            return None
        log.info("mood changed: %s -> %s (confidence %.2f, valence %+.2f, arousal %+.2f)", previous.label,
                 self.mood.label, self.mood.confidence, self.mood.valence, self.mood.arousal)
        return previous
