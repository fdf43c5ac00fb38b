"""What the perceive stage hands to the mood estimator: plain typed values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FaceObservation:
    """One face in one sampled frame.

    probs: (7,) float32 probabilities over ``emotions.EMOTIONS``, sums to 1.
    confidence: [0, 1], from the detector score and the face size.
    face_px: side of the face box in pixels.
    timestamp: seconds on the monotonic clock (``time.monotonic()``).
    """

    probs: np.ndarray
    confidence: float
    face_px: int
    timestamp: float


@dataclass(frozen=True)
class NobodySeen:
    """A frame was analysed and held no face."""

    timestamp: float


@dataclass(frozen=True)
class VoiceObservation:
    """One speech segment heard by the microphone.

    arousal: [-1, 1] (low to high vocal arousal).
    probs: (7,) probabilities over EMOTIONS where the voice model supports classes
        (mass only on angry, happy, neutral, sad), or None.
    confidence: [0, 1].
    duration_s: length of the speech segment.
    timestamp: monotonic seconds at the end of the segment.
    """

    arousal: float
    probs: np.ndarray | None
    confidence: float
    duration_s: float
    timestamp: float


Observation = FaceObservation | NobodySeen | VoiceObservation
