"""Speech segments -> VoiceObservations (the microphone's perceive stage).

1. ``Segmenter``: an energy endpointer with an adaptive noise floor cuts candidate segments
   (0.5..4 s of sound clearly above the floor).
2. The voice model (``models/voice_emotion.tflite``, see models/voice_emotion.md) decides
   whether a segment is speech at all (its ``speech`` output rejects music, including the
   speaker's own, and noise) and, for speech, estimates arousal and the four vocal classes.
3. Speaker/session normalisation: the emotion heads see features standardised by a running
   mean and deviation of the speech heard recently (blended with the training statistics while
   little has been heard), so a loud or high-pitched household is not "aroused" all day.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moodshuffle.domain.emotions import from_voice_probs
from moodshuffle.domain.observations import VoiceObservation
from moodshuffle.perceive.voice_features import HOP, N_FEATURES, SAMPLE_RATE, frame_db, segment_features
from moodshuffle.runtime import ModelError, load_interpreter

MIN_SEGMENT_S = 0.5
MAX_SEGMENT_S = 4.0
#: a frame is sound when this many dB above the noise floor
ONSET_DB = 12.0
#: silence that ends a segment
HANGOVER_S = 0.3
SPEECH_THRESHOLD = 0.9
#: running normalisation: segments remembered, and how many count as much as the prior
SESSION_SEGMENTS = 200
SESSION_PRIOR = 20


def endpoint(audio: np.ndarray, floor_db: float | None = None) -> list[tuple[int, int]]:
    """(start, end) sample ranges of sound well above the noise floor (the 10th percentile of
    frame loudness unless given), 0.5..4 s each (longer stretches are split)."""
    db = frame_db(audio)
    if len(db) == 0:
        return []
    floor = float(np.percentile(db, 10)) if floor_db is None else floor_db
    loud = db > max(floor + ONSET_DB, -60.0)
    segments, start, quiet = [], None, 0
    hang = int(HANGOVER_S * SAMPLE_RATE / HOP)
    max_frames = int(MAX_SEGMENT_S * SAMPLE_RATE / HOP)
    for i, on in enumerate(list(loud) + [False] * (hang + 1)):
        if on:
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet > hang:
                segments.append((start, i - quiet + 1))
                start, quiet = None, 0
        if start is not None and i - start >= max_frames:
            segments.append((start, i))
            start, quiet = None, 0
    min_frames = int(MIN_SEGMENT_S * SAMPLE_RATE / HOP)
    return [(s * HOP, e * HOP + HOP) for s, e in segments if e - s >= min_frames]


@dataclass(frozen=True)
class VoiceEstimate:
    speech: float
    arousal: float  # -1..1
    class_probs: np.ndarray  # (4,) over VOICE_CLASSES


class VoiceModel:
    """The TFLite voice model: two inputs (features standardised by training statistics, and by
    session statistics) -> speech probability, high-arousal probability, 4 class probabilities."""

    def __init__(self, path: Path, num_threads: int = 1) -> None:
        self._interp = load_interpreter(path, num_threads)
        signatures = self._interp.get_signature_list()
        sig = signatures.get("serving_default", {})
        if set(sig.get("inputs", [])) != {"features_global", "features_session"} or \
                set(sig.get("outputs", [])) != {"speech", "arousal", "classes"}:
            raise ModelError(f"{path}: signature {signatures} is not the voice model's")
        self._runner = self._interp.get_signature_runner("serving_default")
        n = int(self._runner.get_input_details()["features_global"]["shape"][-1])
        if n != N_FEATURES:
            raise ModelError(f"{path}: expects {n} features, the daemon makes {N_FEATURES}")
        self._lock = threading.Lock()

    def run(self, x_global: np.ndarray, x_session: np.ndarray) -> VoiceEstimate:
        with self._lock:
            out = self._runner(features_global=x_global[None].astype(np.float32),
                               features_session=x_session[None].astype(np.float32))
        classes = out["classes"][0].astype(np.float32)
        return VoiceEstimate(float(out["speech"][0, 0]), 2 * float(out["arousal"][0, 0]) - 1, classes / classes.sum())


class VoiceAnalyzer:
    """``analyse(audio, end_time)``: audio chunk -> VoiceObservations for its speech segments.
    Keeps the session statistics; not thread-safe (one analysing thread).

    The session statistics are either learnt as speech is heard (the daemon: a running window
    of the household's recent speech) or fixed with ``set_session`` (``eval voice``: the
    statistics of one speaker or of the whole evaluation set, independent of file order)."""

    def __init__(self, model_path: Path, num_threads: int = 1) -> None:
        self.model = VoiceModel(model_path, num_threads)
        stats = json.loads(Path(model_path).with_suffix(".norm.json").read_text())
        self._mu = np.array(stats["mean"], np.float32)
        self._sigma = np.array(stats["std"], np.float32)
        self._recent: deque[np.ndarray] = deque(maxlen=SESSION_SEGMENTS)
        self._fixed: tuple[np.ndarray, np.ndarray] | None = None
        self._noise_floor: float | None = None

    def set_session(self, speech_features: np.ndarray | None) -> None:
        """Fix the session statistics to those of ``speech_features`` (N, N_FEATURES), or go
        back to learning them as speech is heard (None)."""
        if speech_features is None or len(speech_features) == 0:
            self._fixed = None
            return
        f = np.asarray(speech_features, np.float32)
        self._fixed = f.mean(0), f.std(0) + 1e-6

    def _session_norm(self, feats: np.ndarray) -> np.ndarray:
        if self._fixed is not None:
            mu, sigma = self._fixed
            normed: np.ndarray = (feats - mu) / sigma
            return normed
        n = len(self._recent)
        if n:
            recent = np.stack(self._recent)
            w = n / (n + SESSION_PRIOR)
            mu = w * recent.mean(0) + (1 - w) * self._mu
            sigma = np.sqrt(w * recent.var(0) + (1 - w) * self._sigma**2) + 1e-6
        else:
            mu, sigma = self._mu, self._sigma
        return (feats - mu) / sigma

    def speech_probability(self, feats: np.ndarray) -> float:
        """The speech head's output for one segment's features (the session is not touched)."""
        return self.model.run((feats - self._mu) / self._sigma, (feats - self._mu) / self._sigma).speech

    def estimate(self, segment: np.ndarray) -> VoiceEstimate:
        """Model outputs for one segment; a speech segment also updates the session statistics."""
        return self.estimate_features(segment_features(segment))

    def estimate_features(self, feats: np.ndarray) -> VoiceEstimate:
        """``estimate`` for features already computed with ``segment_features``."""
        est = self.model.run((feats - self._mu) / self._sigma, self._session_norm(feats))
        if est.speech >= SPEECH_THRESHOLD and self._fixed is None:
            self._recent.append(feats)
        return est

    def segments(self, audio: np.ndarray, floor_db: float | None = None) -> Iterator[np.ndarray]:
        for start, end in endpoint(audio, floor_db):
            yield audio[start:end]

    def analyse(self, audio: np.ndarray, end_time: float, floor_db: float | None = None) -> list[VoiceObservation]:
        """Observations for the speech in ``audio`` (16 kHz mono) that ended at ``end_time``
        (monotonic seconds); music, noise and silence give none."""
        spans = endpoint(audio, floor_db)
        return self.observe([(end - start, segment_features(audio[start:end])) for start, end in spans],
                            [end_time - (len(audio) - end) / SAMPLE_RATE for _, end in spans])

    def listen(self, chunk: np.ndarray, end_time: float) -> list[VoiceObservation]:
        """``analyse`` for consecutive chunks of a live stream: the room's noise floor is a
        slow-moving low percentile of the loudness heard so far."""
        floor = float(np.percentile(frame_db(chunk), 10))
        self._noise_floor = floor if self._noise_floor is None else min(floor, 0.9 * self._noise_floor + 0.1 * floor)
        return self.analyse(chunk, end_time, floor_db=max(self._noise_floor, -70.0))

    def observe(self, segments: list[tuple[int, np.ndarray]], times: list[float]) -> list[VoiceObservation]:
        """Observations for segments given as (length in samples, features), ending at ``times``."""
        out = []
        for (length, feats), t in zip(segments, times, strict=True):
            est = self.estimate_features(feats)
            if est.speech < SPEECH_THRESHOLD:
                continue
            duration = length / SAMPLE_RATE
            confidence = float(min(1.0, (est.speech - SPEECH_THRESHOLD) * 2) * min(1.0, duration / 2))
            out.append(VoiceObservation(est.arousal, from_voice_probs(est.class_probs), confidence, duration, t))
        return out
