"""The one emotion space shared by faces, voice, music, the mood state and MQTT payloads.

Every model, every mapping into the space and every payload uses ``EMOTIONS`` for the
class order. A point in the space is an ``EmotionPoint``: probabilities over the seven
expression classes plus valence and arousal in [-1, 1]. Tables of many points (the music
library) keep them as rows of ``EMOTION_COLUMNS`` floats: the probabilities, then valence
and arousal.

Sources of the mappings:

* Class -> (valence, arousal): the pleasure and arousal coordinates of the seven basic
  emotions in Russell & Mehrabian (1977), "Evidence for a three-factor theory of
  emotions", J. Research in Personality 11, table of PAD values (neutral at the origin).
* Music quadrant -> space: Russell's circumplex quadrants as used by the 4Q dataset
  (Panda, Malheiro & Paiva 2018): Q1 positive/high, Q2 negative/high, Q3 negative/low,
  Q4 positive/low. The valence/arousal of a quadrant is the centre of that quadrant
  (+-0.5); its class profile names the expressions that share the quadrant.
* Voice -> space: vocal arousal maps directly to the arousal axis; the four vocal classes
  the voice model supports (angry, happy, neutral, sad) map onto the same-named classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Emotion(StrEnum):
    """One expression class; also a mood label (members compare equal to their names)."""

    ANGRY = "angry"
    DISGUST = "disgust"
    FEAR = "fear"
    HAPPY = "happy"
    SAD = "sad"
    SURPRISE = "surprise"
    NEUTRAL = "neutral"


#: The class order of every model, the mood state and MQTT. Same as FER2013's label ids.
EMOTIONS: tuple[Emotion, ...] = tuple(Emotion)
N_EMOTIONS = len(EMOTIONS)
#: width of a stored point: N_EMOTIONS probabilities, valence, arousal
EMOTION_COLUMNS = N_EMOTIONS + 2
#: position of each class (by name) in EMOTIONS
INDEX: dict[str, int] = {name.value: i for i, name in enumerate(EMOTIONS)}

#: (valence, arousal) of each class, in EMOTIONS order (Russell & Mehrabian 1977).
CLASS_VA = np.array(
    [
        [-0.51, 0.59],  # angry
        [-0.60, 0.35],  # disgust
        [-0.64, 0.60],  # fear
        [0.81, 0.51],  # happy
        [-0.63, -0.27],  # sad
        [0.40, 0.67],  # surprise
        [0.00, 0.00],  # neutral
    ],
    dtype=np.float32,
)

#: Music quadrants of Russell's plane, in model output order.
QUADRANTS: tuple[str, ...] = ("Q1", "Q2", "Q3", "Q4")
QUADRANT_VA = np.array([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]], dtype=np.float32)


def _profile(**weights: float) -> np.ndarray:
    p = np.zeros(N_EMOTIONS, np.float32)
    for name, w in weights.items():
        p[INDEX[name]] = w
    return np.asarray(p / p.sum(), np.float32)


#: Expression classes that share each quadrant (rows sum to 1).
QUADRANT_PROFILE = np.stack(
    [
        _profile(happy=0.6, surprise=0.25, neutral=0.15),  # Q1 happy, exuberant
        _profile(angry=0.5, fear=0.3, disgust=0.2),  # Q2 angry, tense, anxious
        _profile(sad=0.75, neutral=0.15, fear=0.1),  # Q3 sad, melancholic
        _profile(neutral=0.6, happy=0.3, sad=0.1),  # Q4 calm, serene
    ]
)

#: Voice model classes, mapped onto the same-named expression classes.
VOICE_CLASSES: tuple[str, ...] = ("angry", "happy", "neutral", "sad")

# Weights of the two parts of the space in similarity: the axes carry most of the
# meaning a listener hears in music; the class profile separates e.g. angry from fearful.
_CLASS_WEIGHT = 1.0
_AXIS_WEIGHT = 1.5


@dataclass(frozen=True)
class EmotionPoint:
    """A point in the shared space: ``probs`` (7,) over EMOTIONS (sums to 1), valence and
    arousal in [-1, 1]. The mood, each policy target and each track are such points."""

    probs: np.ndarray
    valence: float
    arousal: float


def va_from_probs(probs: np.ndarray) -> np.ndarray:
    """(valence, arousal) implied by class probabilities: (..., 7) -> (..., 2)."""
    return np.asarray(probs, np.float32) @ CLASS_VA


def from_quadrant_probs(qprobs: np.ndarray) -> np.ndarray:
    """Map music-model outputs (N, 4) over QUADRANTS to (N, EMOTION_COLUMNS) rows of
    [7 class probabilities, valence, arousal]."""
    q = np.asarray(qprobs, np.float32)
    return np.concatenate([q @ QUADRANT_PROFILE, q @ QUADRANT_VA], axis=-1)


def from_voice_probs(vprobs: np.ndarray) -> np.ndarray:
    """Map voice-model class probabilities (..., 4) over VOICE_CLASSES to (..., 7)
    probabilities over EMOTIONS."""
    v = np.asarray(vprobs, np.float32)
    out = np.zeros(v.shape[:-1] + (N_EMOTIONS,), np.float32)
    for j, name in enumerate(VOICE_CLASSES):
        out[..., INDEX[name]] = v[..., j]
    return out


def embed(probs: np.ndarray, va: np.ndarray) -> np.ndarray:
    """Embed (N, 7) probabilities and (N, 2) valence/arousal into (N, 9) vectors whose
    cosine similarity is the project's emotion similarity. Probabilities are centred on
    the uniform distribution so that "no information" sits at the origin."""
    probs = np.asarray(probs, np.float32)
    va = np.asarray(va, np.float32)
    return np.concatenate([_CLASS_WEIGHT * (probs - 1.0 / N_EMOTIONS), _AXIS_WEIGHT * va], axis=-1)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of rows of ``a`` (N, D) with one vector ``b`` (D,), in [-1, 1]."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    denom = np.linalg.norm(a, axis=-1) * float(np.linalg.norm(b)) + 1e-9
    return np.asarray((a @ b) / denom, np.float32)
