"""Features of one audio segment for the voice model (pure numpy, 16 kHz mono float32).

Chosen for what carries across corpora and languages: prosody (pitch level, range and
movement; loudness level and dynamics), voice quality (spectral tilt, centroid, flatness) and
the 2-8 Hz modulation of the loudness envelope that syllables give speech and most music lacks.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000
FRAME = 400  # 25 ms
HOP = 160  # 10 ms
N_FFT = 512
N_MELS = 32
_WINDOW = np.hanning(FRAME).astype(np.float32)


def _mel_filters() -> np.ndarray:
    def hz_to_mel(f: np.ndarray | float) -> np.ndarray | float:
        return 2595 * np.log10(1 + f / 700)

    mels = np.linspace(hz_to_mel(60), hz_to_mel(7600), N_MELS + 2)
    hz = 700 * (10 ** (mels / 2595) - 1)
    bins = np.fft.rfftfreq(N_FFT, 1 / SAMPLE_RATE)
    fb = np.zeros((N_MELS, len(bins)), np.float32)
    for i in range(N_MELS):
        lo, mid, hi = hz[i], hz[i + 1], hz[i + 2]
        fb[i] = np.clip(np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)), 0, None)
    return fb


_MEL = _mel_filters()
_FREQS = np.fft.rfftfreq(N_FFT, 1 / SAMPLE_RATE).astype(np.float32)


def frames(audio: np.ndarray) -> np.ndarray:
    """(n, FRAME) windowed frames, hop 10 ms."""
    if len(audio) < FRAME:
        audio = np.pad(audio, (0, FRAME - len(audio)))
    n = 1 + (len(audio) - FRAME) // HOP
    idx = np.arange(FRAME)[None, :] + HOP * np.arange(n)[:, None]
    windowed: np.ndarray = audio[idx] * _WINDOW
    return windowed


def frame_db(audio: np.ndarray) -> np.ndarray:
    """Per-frame loudness in dBFS (10 ms hop)."""
    f = frames(audio)
    db: np.ndarray = 10 * np.log10(np.mean(f**2, axis=1) + 1e-10)
    return db


def _pitch(f: np.ndarray, power: np.ndarray) -> np.ndarray:
    """F0 in Hz per frame by normalised autocorrelation (60..400 Hz); NaN where unvoiced."""
    spec = np.fft.rfft(f, n=1024, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :FRAME]
    ac = ac / (ac[:, :1] + 1e-10)
    lo, hi = SAMPLE_RATE // 400, SAMPLE_RATE // 60
    lag = lo + np.argmax(ac[:, lo:hi], axis=1)
    strength = ac[np.arange(len(ac)), lag]
    loud = power > np.percentile(power, 30) if len(power) > 3 else np.ones(len(power), bool)
    f0 = SAMPLE_RATE / lag.astype(np.float32)
    return np.where((strength > 0.45) & loud, f0, np.nan)


def _stats(x: np.ndarray) -> list[float]:
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return [0.0, 0.0, 0.0]
    return [float(np.mean(x)), float(np.std(x)), float(np.percentile(x, 90) - np.percentile(x, 10))]


def segment_features(audio: np.ndarray) -> np.ndarray:
    """(N_FEATURES,) float32 features of a segment (at least 0.3 s of 16 kHz mono audio)."""
    f = frames(audio.astype(np.float32))
    spec = np.abs(np.fft.rfft(f, n=N_FFT, axis=1)) ** 2
    power = spec.sum(axis=1) + 1e-10
    db = 10 * np.log10(power)
    logmel = np.log(spec @ _MEL.T + 1e-8)
    centroid = (spec * _FREQS).sum(axis=1) / power
    flatness = np.exp(np.mean(np.log(spec + 1e-10), axis=1)) / (np.mean(spec, axis=1) + 1e-10)
    low = spec[:, _FREQS < 1000].sum(axis=1)
    high = spec[:, _FREQS >= 1000].sum(axis=1)
    tilt = 10 * np.log10((high + 1e-10) / (low + 1e-10))
    f0 = _pitch(f, power)
    semitones = 12 * np.log2(f0 / 100.0)
    voiced = np.isfinite(f0)
    dsemi = np.diff(semitones)
    # loudness envelope modulation: share of 2-8 Hz energy (syllable rate)
    env = db - db.mean()
    mod = np.abs(np.fft.rfft(env * np.hanning(len(env)))) ** 2 if len(env) > 8 else np.zeros(5)
    mod_freqs = np.fft.rfftfreq(max(len(env), 9), HOP / SAMPLE_RATE)[: len(mod)]
    syllabic = float(mod[(mod_freqs >= 2) & (mod_freqs <= 8)].sum() / (mod[mod_freqs > 0.5].sum() + 1e-10))
    feats = [
        *_stats(db), float(np.mean(np.abs(np.diff(db)))) if len(db) > 1 else 0.0,
        *_stats(semitones), float(voiced.mean()), *_stats(dsemi),
        *_stats(centroid / 1000), *_stats(np.log(flatness + 1e-10)), *_stats(tilt), syllabic,
        *logmel.mean(axis=0), *logmel.std(axis=0),
    ]
    return np.nan_to_num(np.array(feats, np.float32))


N_FEATURES = 21 + 2 * N_MELS
