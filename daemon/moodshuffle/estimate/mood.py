"""Observations over time -> one smoothed mood state (pure logic, no I/O).

The mood is how far the room departs from how it looks at rest (a resting face the model reads
as sad is this room's rest, not sadness). For each channel of evidence (faces; voice classes)
two exponentially decayed sums: the **rest**, learnt slowly (``baseline_half_life_s``) from the
observations ``rest_teaching`` says are at rest, and the **expression**, smoothed fast
(``half_life_s``) and weighted by confidence. A frame weighs the seconds since the previous one,
up to ``FRAME_SPAN_S``. The departure ``(S - W * rest) / (W + PRIOR_WEIGHT)`` becomes the mood's
probabilities (``mood_probs``); several faces count by confidence; nobody seen decays the
expression with ``absent_half_life_s``; vocal arousal blends into the arousal by evidence.

The label: rest or departed, then the quadrant group (``QUADRANT_GROUPS``), then the class
within it, each step with hysteresis (``hysteresis_margin`` for ``hysteresis_hold_s``; a
``FLIP_HOLD_SHARE`` of the hold when the valence contradicts the label). With a
``DepartureNaming`` (``models/mood_naming.json``) the label reads the departed mass as the map
names the departure's shape (a sad face the model splits into sad and disgust is named sad);
without one, as the model splits it. Valence comes from CLASS_VA, arousal from each class's
quadrant arousal (``CLASS_AROUSAL``), so a sad face the model reads partly as fear or disgust
sits in the sad quadrant.

The whole design, why each part is there and what was measured: docs/mood-estimator.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from moodshuffle.config import MoodConfig
from moodshuffle.domain.emotions import CLASS_VA, EMOTIONS, INDEX, N_EMOTIONS, Emotion, va_from_probs
from moodshuffle.domain.mood import MoodState
from moodshuffle.domain.observations import FaceObservation, NobodySeen, Observation, VoiceObservation
from moodshuffle.estimate.naming import DepartureNaming

NEUTRAL = INDEX["neutral"]
#: the rest before any face is seen: mostly neutral
REST_PRIOR = np.full(N_EMOTIONS, 0.4 / (N_EMOTIONS - 1), np.float64)
REST_PRIOR[NEUTRAL] = 0.6
#: an observation whose neutral probability is at most this is a clear expression, never rest
EXPRESSIVE_NEUTRAL = 0.1
#: weight of REST_PRIOR in the rest, in fully restful frames: the first faces soon outweigh it
REST_PRIOR_WEIGHT = 0.5
#: an observation this far (L1) from the learnt rest is a departure and teaches it nothing by
#: its likeness; nearer, it teaches in proportion (see ``rest_teaching``)
REST_LIKENESS_L1 = 0.6
#: the first this many frames of face evidence (decayed with the rest) are "first sight": a face
#: that is not clearly expressive then teaches the rest fully (see ``rest_teaching``)
FIRST_SIGHT_WEIGHT = 3.0
#: weight of "no departure" in the expression, in units of one fully confident frame
PRIOR_WEIGHT = 1.0
#: a frame is evidence for the seconds since the previous one, up to this many (the default
#: camera interval): so the mood moves at the same pace whatever the camera's sampling rate
FRAME_SPAN_S = 2.0
VOICE_CLASS_WEIGHT = 0.5
#: the mood's valence this far on the other side of zero from the label's class contradicts it
FLIP_VALENCE = 0.2
#: share of ``hysteresis_hold_s`` a leader needs while the valence contradicts the label
FLIP_HOLD_SHARE = 0.5
#: the non-neutral classes grouped by the quadrant of their CLASS_VA (Q1, Q2, Q3), and neutral
QUADRANT_GROUPS: dict[str, tuple[int, ...]] = {
    "Q1": (INDEX["happy"], INDEX["surprise"]),
    "Q2": (INDEX["angry"], INDEX["disgust"], INDEX["fear"]),
    "Q3": (INDEX["sad"],),
}
GROUP_OF: dict[str, str] = {EMOTIONS[i]: g for g, idx in QUADRANT_GROUPS.items() for i in idx}
#: arousal of each class in the mood point, in EMOTIONS order: its quadrant centre's (+-0.5), not
#: CLASS_VA's, so that a sad face read partly as fear or angry (+0.6 there, sad -0.27) is not
#: pulled into the tense quadrant; disgust, the class a sad face departs into most (and the
#: calmest of the tense ones, +0.35 in CLASS_VA), at half of that (bench/sweep_label.py, issue 27)
#:                          angry disgust fear happy  sad  surprise neutral
CLASS_AROUSAL = np.array([0.5, 0.25, 0.5, 0.5, -0.5, 0.5, 0.0], np.float64)
#: speech heard within this many seconds counts as recent
SPEECH_RECENT_S = 30.0


def restfulness(probs: np.ndarray) -> float:
    """How much an observation may teach the rest, 0..1: its neutral probability above
    ``EXPRESSIVE_NEUTRAL``, rescaled; a clear expression teaches nothing."""
    return max(0.0, float(probs[NEUTRAL]) - EXPRESSIVE_NEUTRAL) / (1.0 - EXPRESSIVE_NEUTRAL)


def rest_teaching(probs: np.ndarray, rest: np.ndarray, novelty: float) -> float:
    """How much one observation teaches the rest, 0..1, given the rest so far (``rest``, over
    EMOTIONS) and how new the channel's evidence is (``novelty``, 1 at first sight, 0 once
    ``FIRST_SIGHT_WEIGHT`` frames were seen). The most of:

    * its ``restfulness`` (its neutral probability);
    * its likeness to the rest, ``1 - L1(probs, rest) / REST_LIKENESS_L1``: a face that looks as
      it does at rest is at rest, whatever the model makes of it, so the rest becomes this
      face's mean reading and not the mean of its more neutral-looking frames only;
    * ``novelty`` for a face that is not clearly expressive (neutral above
      ``EXPRESSIVE_NEUTRAL``): most of the time a face is at rest, so the way it looks when
      first seen is its rest unless it plainly laughs or cries. Novelty counts frames seen, not
      frames learnt, so a room first seen crying has spent it before the crying ends.
    """
    likeness = 1.0 - float(np.abs(probs - rest).sum()) / REST_LIKENESS_L1
    taught = max(restfulness(probs), likeness)
    if float(probs[NEUTRAL]) > EXPRESSIVE_NEUTRAL:
        taught = max(taught, novelty)
    return min(1.0, taught)


def mood_probs(departure: np.ndarray, sensitivity: float) -> np.ndarray:
    """Mood probabilities over EMOTIONS from a departure from rest (sums to 0): the positive
    part of each non-neutral class times ``sensitivity``, scaled down to sum at most 1, and the
    remainder on neutral."""
    out = np.clip(departure * sensitivity, 0.0, None)
    out[NEUTRAL] = 0.0
    total = float(out.sum())
    if total > 1.0:
        out /= total
    out[NEUTRAL] = 1.0 - min(1.0, total)
    return out


def contradicts(label: str, valence: float) -> bool:
    """Whether the mood's ``valence`` lies decisively (``FLIP_VALENCE``) on the other side of
    zero from the ``label``'s class; never for a label of zero valence (neutral)."""
    label_valence = CLASS_VA[INDEX[label]][0]
    return label_valence * valence < 0 and abs(valence) >= FLIP_VALENCE


@dataclass
class _Channel:
    """One kind of evidence (faces, or voice classes): its expression and its rest, as
    decayed sums."""

    expr_sum: np.ndarray = field(default_factory=lambda: np.zeros(N_EMOTIONS))
    expr_weight: float = 0.0
    rest_sum: np.ndarray = field(default_factory=lambda: np.zeros(N_EMOTIONS))
    rest_weight: float = 0.0
    #: evidence seen, decayed with the rest: how well this channel knows the room
    seen_weight: float = 0.0

    def rest(self) -> np.ndarray:
        return (self.rest_sum + REST_PRIOR_WEIGHT * REST_PRIOR) / (self.rest_weight + REST_PRIOR_WEIGHT)

    def decay(self, expr_factor: float, rest_factor: float) -> None:
        self.expr_sum *= expr_factor
        self.expr_weight *= expr_factor
        self.rest_sum *= rest_factor
        self.rest_weight *= rest_factor
        self.seen_weight *= rest_factor

    def novelty(self) -> float:
        """1 before any evidence, falling to 0 once FIRST_SIGHT_WEIGHT frames were seen."""
        return max(0.0, 1.0 - self.seen_weight / FIRST_SIGHT_WEIGHT)

    def add(self, probs: np.ndarray, weight: float) -> None:
        self.expr_sum += weight * probs
        self.expr_weight += weight
        self.seen_weight += weight

    def learn_rest(self, probs: np.ndarray, weight: float) -> None:
        self.rest_sum += weight * probs
        self.rest_weight += weight

    def departure_sum(self) -> np.ndarray:
        """Sum of weight x (evidence - rest)."""
        return self.expr_sum - self.expr_weight * self.rest()


class MoodEstimator:
    """Feed observations with ``observe``; read the state with ``update(now)``."""

    def __init__(self, cfg: MoodConfig, naming: DepartureNaming | None = None) -> None:
        """``naming``: how the label reads a departure's shape (None: as the model splits it)."""
        self.cfg = cfg
        self.naming = naming
        self._face = _Channel()
        self._voice_classes = _Channel()
        self._arousal_sum = 0.0
        self._arousal_weight = 0.0
        self._time: float | None = None
        self._absent = False
        self._last_frame: float | None = None
        self._frames: dict[float, list[FaceObservation]] = {}
        self._nobody: list[float] = []
        self._voice: list[VoiceObservation] = []
        self._faces = 0
        self._faces_time = -np.inf
        self._last_evidence: float | None = None
        self._last_speech: float | None = None
        self._label = Emotion.NEUTRAL
        self._beaten_since: float | None = None

    def observe(self, obs: Observation) -> None:
        """Queue one observation; it takes effect at the next ``update``."""
        if isinstance(obs, FaceObservation):
            self._frames.setdefault(obs.timestamp, []).append(obs)
        elif isinstance(obs, NobodySeen):
            self._nobody.append(obs.timestamp)
        elif isinstance(obs, VoiceObservation):
            self._voice.append(obs)

    def update(self, now: float) -> MoodState:
        """Fold queued observations in time order, decay to ``now`` and return the state."""
        events: list[tuple[float, int, FaceObservation | VoiceObservation | None, list[FaceObservation]]] = [
            (t, 0, None, faces) for t, faces in self._frames.items()]
        events += [(t, 1, None, []) for t in self._nobody]
        events += [(v.timestamp, 2, v, []) for v in self._voice]
        self._frames, self._nobody, self._voice = {}, [], []
        for t, kind, voice, faces in sorted(events, key=lambda e: (e[0], e[1])):
            self._decay_to(t)
            if kind == 0:
                self._fold_frame(t, faces)
            elif kind == 1:
                self._frame_span(t)
                self._absent = True
                if t >= self._faces_time:
                    self._faces, self._faces_time = 0, t
            elif isinstance(voice, VoiceObservation):
                self._fold_voice(voice)
        self._decay_to(now)
        return self._state(now)

    def _decay_to(self, t: float) -> None:
        if self._time is not None and t > self._time:
            dt = t - self._time
            half_life = self.cfg.absent_half_life_s if self._absent else self.cfg.half_life_s
            expr = 0.5 ** (dt / half_life)
            rest = 0.5 ** (dt / self.cfg.baseline_half_life_s)
            self._face.decay(expr, rest)
            # the voice is heard in bursts: between them it fades at the expression's pace
            voice = 0.5 ** (dt / self.cfg.half_life_s)
            self._voice_classes.decay(voice, rest)
            self._arousal_sum *= voice
            self._arousal_weight *= voice
        self._time = t if self._time is None else max(self._time, t)

    def _fold_frame(self, t: float, faces: list[FaceObservation]) -> None:
        if t >= self._faces_time:
            self._faces, self._faces_time = len(faces), t
        span = self._frame_span(t)
        conf = np.array([max(0.0, min(1.0, f.confidence)) for f in faces])
        if conf.sum() <= 0:
            return
        self._absent = False
        probs = np.stack([f.probs for f in faces]).astype(np.float64)
        novelty, rest = self._face.novelty(), self._face.rest()
        self._face.add((conf[:, None] * probs).sum(0) / conf.sum(), span * min(1.0, float(conf.sum())))
        for c, p in zip(conf, probs, strict=True):
            self._face.learn_rest(p, span * c * rest_teaching(p, rest, novelty))
        self._last_evidence = t

    def _frame_span(self, t: float) -> float:
        """The share of FRAME_SPAN_S since the previous analysed frame (1 for the first)."""
        span = 1.0 if self._last_frame is None else min(FRAME_SPAN_S, max(0.0, t - self._last_frame)) / FRAME_SPAN_S
        self._last_frame = t if self._last_frame is None else max(self._last_frame, t)
        return span

    def _fold_voice(self, v: VoiceObservation) -> None:
        c = max(0.0, min(1.0, v.confidence))
        self._arousal_sum += c * float(np.clip(v.arousal, -1, 1))
        self._arousal_weight += c
        if v.probs is not None and c > 0:
            p = np.asarray(v.probs, np.float64)
            novelty, rest = self._voice_classes.novelty(), self._voice_classes.rest()
            self._voice_classes.add(p, VOICE_CLASS_WEIGHT * c)
            self._voice_classes.learn_rest(p, VOICE_CLASS_WEIGHT * c * rest_teaching(p, rest, novelty))
        self._last_evidence = v.timestamp
        self._last_speech = v.timestamp

    def _state(self, now: float) -> MoodState:
        weight = self._face.expr_weight + self._voice_classes.expr_weight
        departure = (self._face.departure_sum() + self._voice_classes.departure_sum()) / (weight + PRIOR_WEIGHT)
        probs = mood_probs(departure, self.cfg.sensitivity).astype(np.float32)
        valence = float(va_from_probs(probs)[0])
        face_arousal = float(probs.astype(np.float64) @ CLASS_AROUSAL)
        voice_arousal = None
        arousal = face_arousal
        if self._arousal_weight > 1e-3:
            voice_arousal = self._arousal_sum / self._arousal_weight
            # blend by evidence: the voice counts as much as its (decayed) weight says
            w_face = weight + PRIOR_WEIGHT
            arousal = (w_face * face_arousal + self._arousal_weight * voice_arousal) / (w_face + self._arousal_weight)
        confidence = (weight + self._arousal_weight) / (weight + self._arousal_weight + PRIOR_WEIGHT)
        label_probs = mood_probs(departure, self.cfg.label_sensitivity)
        self._update_label(self.naming.name(label_probs, departure) if self.naming else label_probs, valence, now)
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
            rest=self._face.rest().astype(np.float32),
        )

    def _update_label(self, probs: np.ndarray, valence: float, now: float) -> None:
        """Rest or departed, then the quadrant group, then the class within it (module
        docstring), on ``probs`` as named. The hold counts while the current label is beaten
        without a break."""
        neutral = float(probs[NEUTRAL])
        departed = 1.0 - neutral
        masses = {g: float(probs[list(idx)].sum()) for g, idx in QUADRANT_GROUPS.items()}
        best = max(masses, key=lambda g: masses[g])
        group = GROUP_OF.get(self._label)
        target: Emotion | None = None
        if group is None:
            if departed - neutral >= self.cfg.hysteresis_margin:
                target = self._leader_in(best, probs)
        elif neutral - departed >= self.cfg.hysteresis_margin:
            target = Emotion.NEUTRAL
        elif best != group and masses[best] - masses[group] >= self.cfg.hysteresis_margin:
            target = self._leader_in(best, probs)
        else:
            # the group holds: the label follows the leading class within it
            self._label, self._beaten_since = self._leader_in(group, probs), None
            return
        if target is None:
            self._beaten_since = None
            return
        if self._beaten_since is None:
            self._beaten_since = now
        hold = self.cfg.hysteresis_hold_s
        if contradicts(self._label, valence):
            hold *= FLIP_HOLD_SHARE
        if now - self._beaten_since >= hold:
            # the leader at the moment the hold is met, within the winning group
            self._label, self._beaten_since = target, None

    @staticmethod
    def _leader_in(group: str, probs: np.ndarray) -> Emotion:
        idx = QUADRANT_GROUPS[group]
        return EMOTIONS[idx[int(np.argmax(probs[list(idx)]))]]
