"""Observations over time -> one smoothed mood state (pure logic, no I/O).

Smoothing: evidence is kept as exponentially decayed sums with half-life ``half_life_s``:
``S = S * 2^(-dt/h) + w * p`` and ``W = W * 2^(-dt/h) + w``. The mood probabilities are
``(S + W0 * prior) / (W + W0)`` with a neutral prior of weight ``W0``; so when nobody is seen
the evidence decays, the state slides toward the prior and the confidence ``W / (W + W0)``
falls, smoothly, without freezing or jumping.

Several faces in one frame: their probabilities are averaged weighted by each face's
confidence (a large, sharp face counts more than a small blurred one), and the frame adds
evidence ``min(1, sum of confidences)``: a crowd is somewhat more certain than one face, but
five people do not make the room five times as certain.

Voice: its class probabilities (when the voice model gives them) add evidence like a face at
half weight; its arousal is smoothed separately and blended into the state's arousal by the
two evidence weights.

The dominant label changes only with hysteresis: a new class must lead the current one by
``hysteresis_margin`` for ``hysteresis_hold_s`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moodshuffle.config import MoodConfig
from moodshuffle.emotions import EMOTIONS, INDEX, N_EMOTIONS, EmotionPoint, va_from_probs
from moodshuffle.observations import FaceObservation, NobodySeen, Observation, VoiceObservation

#: a calm room with no information: mostly neutral
NEUTRAL_PRIOR = np.full(N_EMOTIONS, 0.4 / (N_EMOTIONS - 1), np.float32)
NEUTRAL_PRIOR[INDEX["neutral"]] = 0.6
#: weight of the prior, in units of one fully confident frame
PRIOR_WEIGHT = 1.0
VOICE_CLASS_WEIGHT = 0.5
#: speech heard within this many seconds counts as recent
SPEECH_RECENT_S = 30.0


@dataclass(frozen=True)
class MoodState:
    """The smoothed mood at ``timestamp`` (monotonic seconds).

    probs: (7,) over EMOTIONS, sums to 1; valence, arousal in [-1, 1]; confidence in [0, 1];
    label: the dominant class after hysteresis; faces: faces in the latest analysed frame;
    last_evidence: monotonic time of the latest face or voice observation (None: never);
    voice_arousal: smoothed vocal arousal in [-1, 1] or None; speech_recent: speech heard
    within the last 30 s.
    """

    probs: np.ndarray
    valence: float
    arousal: float
    confidence: float
    label: str
    faces: int
    last_evidence: float | None
    timestamp: float
    voice_arousal: float | None = None
    speech_recent: bool = False

    @property
    def point(self) -> EmotionPoint:
        """Where the mood sits in the shared emotion space."""
        return EmotionPoint(self.probs, self.valence, self.arousal)


class MoodEstimator:
    """Feed observations with ``observe``; read the state with ``update(now)``."""

    def __init__(self, cfg: MoodConfig) -> None:
        self.cfg = cfg
        self._sum = np.zeros(N_EMOTIONS, np.float64)
        self._weight = 0.0
        self._arousal_sum = 0.0
        self._arousal_weight = 0.0
        self._time: float | None = None
        self._frames: dict[float, list[FaceObservation]] = {}
        self._nobody: list[float] = []
        self._voice: list[VoiceObservation] = []
        self._faces = 0
        self._faces_time = -np.inf
        self._last_evidence: float | None = None
        self._last_speech: float | None = None
        self._label = "neutral"
        self._pending: tuple[str, float] | None = None

    def observe(self, obs: Observation) -> None:
        """Queue one observation; it takes effect at the next ``update``."""
        if isinstance(obs, FaceObservation):
            self._frames.setdefault(obs.timestamp, []).append(obs)
        elif isinstance(obs, NobodySeen):
            self._nobody.append(obs.timestamp)
        elif isinstance(obs, VoiceObservation):
            self._voice.append(obs)

    def _decay_to(self, t: float) -> None:
        if self._time is not None and t > self._time:
            factor = 0.5 ** ((t - self._time) / self.cfg.half_life_s)
            self._sum *= factor
            self._weight *= factor
            self._arousal_sum *= factor
            self._arousal_weight *= factor
        self._time = t if self._time is None else max(self._time, t)

    def _add(self, t: float, probs: np.ndarray, weight: float) -> None:
        self._decay_to(t)
        self._sum += weight * np.asarray(probs, np.float64)
        self._weight += weight

    def update(self, now: float) -> MoodState:
        """Fold queued observations in time order, decay to ``now`` and return the state."""
        events: list[tuple[float, str, object]] = [(t, "frame", faces) for t, faces in self._frames.items()]
        events += [(t, "nobody", None) for t in self._nobody]
        events += [(v.timestamp, "voice", v) for v in self._voice]
        self._frames, self._nobody, self._voice = {}, [], []
        for t, kind, payload in sorted(events, key=lambda e: e[0]):
            if kind == "frame":
                self._fold_frame(t, payload)  # type: ignore[arg-type]
            elif kind == "nobody":
                self._decay_to(t)
                if t >= self._faces_time:
                    self._faces, self._faces_time = 0, t
            else:
                self._fold_voice(payload)  # type: ignore[arg-type]
        self._decay_to(now)
        return self._state(now)

    def _fold_frame(self, t: float, faces: list[FaceObservation]) -> None:
        conf = np.array([max(0.0, min(1.0, f.confidence)) for f in faces])
        if t >= self._faces_time:
            self._faces, self._faces_time = len(faces), t
        if conf.sum() <= 0:
            self._decay_to(t)
            return
        probs = np.stack([f.probs for f in faces]).astype(np.float64)
        mean = (conf[:, None] * probs).sum(0) / conf.sum()
        self._add(t, mean, min(1.0, float(conf.sum())))
        self._last_evidence = t

    def _fold_voice(self, v: VoiceObservation) -> None:
        c = max(0.0, min(1.0, v.confidence))
        self._decay_to(v.timestamp)
        self._arousal_sum += c * float(np.clip(v.arousal, -1, 1))
        self._arousal_weight += c
        if v.probs is not None and c > 0:
            self._add(v.timestamp, v.probs, VOICE_CLASS_WEIGHT * c)
        self._last_evidence = v.timestamp
        self._last_speech = v.timestamp

    def _state(self, now: float) -> MoodState:
        probs = (self._sum + PRIOR_WEIGHT * NEUTRAL_PRIOR) / (self._weight + PRIOR_WEIGHT)
        probs = (probs / probs.sum()).astype(np.float32)
        valence, face_arousal = (float(x) for x in va_from_probs(probs))
        voice_arousal = None
        arousal = face_arousal
        if self._arousal_weight > 1e-3:
            voice_arousal = self._arousal_sum / self._arousal_weight
            # blend by evidence: the voice counts as much as its (decayed) weight says
            w_face = self._weight + PRIOR_WEIGHT
            arousal = (w_face * face_arousal + self._arousal_weight * voice_arousal) / (w_face + self._arousal_weight)
        confidence = (self._weight + self._arousal_weight) / (self._weight + self._arousal_weight + PRIOR_WEIGHT)
        self._update_label(probs, now)
        return MoodState(
            probs=probs,
            valence=float(np.clip(valence, -1, 1)),
            arousal=float(np.clip(arousal, -1, 1)),
            confidence=float(confidence),
            label=self._label,
            faces=self._faces,
            last_evidence=self._last_evidence,
            timestamp=now,
            voice_arousal=None if voice_arousal is None else float(voice_arousal),
            speech_recent=self._last_speech is not None and now - self._last_speech <= SPEECH_RECENT_S,
        )

    def _update_label(self, probs: np.ndarray, now: float) -> None:
        best = EMOTIONS[int(np.argmax(probs))]
        lead = float(probs[INDEX[best]] - probs[INDEX[self._label]])
        if best == self._label or lead < self.cfg.hysteresis_margin:
            self._pending = None
            return
        if self._pending is None or self._pending[0] != best:
            self._pending = (best, now)
        if now - self._pending[1] >= self.cfg.hysteresis_hold_s:
            self._label, self._pending = best, None
