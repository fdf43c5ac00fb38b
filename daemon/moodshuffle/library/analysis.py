"""Analysis of one track: the music model's input and the transition features (pure numpy).

The music model (``models/music_emotion.tflite``, see its model card) takes ``PATCHES``
patches of ``PATCH_FRAMES`` frames of the power spectrogram (16 kHz mono, 512-point FFT
with a periodic Hann window, hop 256, zero-padded centred frames as librosa computes them),
spread evenly over the track; the mel filterbank and ``log10(10000 * mel + 1)`` are inside
the model. Tempo, key/mode, energy and loudness come from the same windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from moodshuffle.domain.emotions import from_quadrant_probs
from moodshuffle.library.decode import decode_windows, duration_s
from moodshuffle.runtime import ModelError

SAMPLE_RATE = 16_000
N_FFT = 512
#: width of one spectrum bin
BIN_HZ = SAMPLE_RATE / N_FFT
HOP = 256
PATCH_FRAMES = 187  # 3 s, musicnn's input length
PATCHES = 8
WINDOW_S = (PATCH_FRAMES - 1) * HOP / SAMPLE_RATE
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)  # periodic Hann

# Krumhansl-Kessler key profiles (C major / C minor)
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class TrackFeatures:
    """What the index stores for one track. emotion: (9,) [7 probs over EMOTIONS, valence,
    arousal]; quadrant_probs: (4,) over Q1..Q4; key 0..11 (-1 unknown), mode 1 major / 0 minor."""

    emotion: np.ndarray
    quadrant_probs: np.ndarray
    tempo_bpm: float
    key: int
    mode: int
    energy: float
    loudness_db: float
    duration_s: float


def power_spectrogram(audio: np.ndarray) -> np.ndarray:
    """(frames, 257) power spectrogram of mono 16 kHz audio, librosa-style centred frames."""
    padded = np.pad(audio.astype(np.float32), N_FFT // 2)
    n = 1 + (len(padded) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    spec = np.fft.rfft(padded[idx] * _WINDOW, axis=1)
    return (spec.real**2 + spec.imag**2).astype(np.float32)


def model_patches(specs: list[np.ndarray]) -> np.ndarray:
    """(PATCHES, PATCH_FRAMES, 257) model input from the windows' power spectrograms; short
    tracks are padded with silence and patches repeated cyclically to fill PATCHES."""
    patches = []
    for spec in specs:
        spec = spec[:PATCH_FRAMES]
        if len(spec) < PATCH_FRAMES:
            spec = np.pad(spec, ((0, PATCH_FRAMES - len(spec)), (0, 0)))
        patches.append(spec)
    return np.stack([patches[i % len(patches)] for i in range(PATCHES)])


def _tempo(specs: list[np.ndarray]) -> float:
    """BPM from the autocorrelation of the spectral-flux onset envelope (60..200 BPM),
    weighted toward 120 BPM as listeners are; 0 when there is no pulse."""
    frame_rate = SAMPLE_RATE / HOP
    lags = np.arange(int(frame_rate * 60 / 200), int(frame_rate * 60 / 60) + 1)
    acf_sum = np.zeros(len(lags))
    for spec in specs:
        logs = np.log1p(1000 * spec[:, 2:200])
        flux = np.maximum(0, np.diff(logs, axis=0)).sum(axis=1)
        flux -= flux.mean()
        if len(flux) <= lags[-1] + 1 or not flux.any():
            continue
        full = np.correlate(flux, flux, mode="full")[len(flux) - 1 :]
        acf_sum += full[lags] / (full[0] + 1e-9)
    if not acf_sum.any():
        return 0.0
    bpm = 60 * frame_rate / lags
    prior = np.exp(-0.5 * (np.log2(bpm / 120) / 0.9) ** 2)
    return float(bpm[int(np.argmax(acf_sum * prior))])


def peak_chroma(specs: list[np.ndarray], low_hz: float = 100.0, high_hz: float = 5000.0,
                floor_db: float = -60.0) -> np.ndarray:
    """(12,) pitch-class profile (C first) from the spectral peaks of each frame, 100..5000 Hz,
    within 60 dB of the frame's loudest bin, their frequency refined by a parabola through the
    log power of the peak bin and its neighbours, each weighted by its magnitude and by how
    close it lies to a semitone's centre (cos^2).

    Why not a chroma binned straight from the spectrum (the scan's before 2026-12-08, kept as
    ``chroma`` in ``bench/music_side_features.py``): at 31.25 Hz per bin a semitone is narrower
    than a bin below about 500 Hz, and the bins at 125, 250, 500, 1000 and 2000 Hz all round to
    B. On synthetic I-IV-V-I / i-iv-v-i progressions (7 roots, ``tests/test_analysis_key.py``)
    the key read from it got the mode right in 6 of 14 and named B in 10 of 14; this profile gets
    the mode right in 13 of 14 (the key is the tonic or its fifth, the harmonics' doing). On the
    920 labelled clips of the music card, the old key was B for 70% and major for 83%; this
    profile's keys spread 4-13% each, 57% major."""
    out = np.zeros(12)
    lo, hi = int(np.ceil(low_hz / BIN_HZ)), int(high_hz / BIN_HZ)
    for spec in specs:
        db = 10 * np.log10(spec + 1e-12)
        a, b, c = db[:, lo - 1:hi - 1], db[:, lo:hi], db[:, lo + 1:hi + 1]
        f, k = np.nonzero((b > a) & (b >= c) & (b > db.max(axis=1, keepdims=True) + floor_db))
        curve = a[f, k] - 2 * b[f, k] + c[f, k]
        delta = np.where(curve < 0, 0.5 * (a[f, k] - c[f, k]) / np.where(curve < 0, curve, -1.0), 0.0)
        pitch = 12 * np.log2((k + lo + delta) * BIN_HZ / 440.0) + 69
        weight = np.sqrt(spec[f, k + lo]) * np.cos(np.pi * (pitch - np.round(pitch)) / 2) ** 2
        out += np.bincount(np.round(pitch).astype(int) % 12, weights=weight, minlength=12)
    return out


def key_correlations(profile: np.ndarray) -> np.ndarray:
    """(2, 12) Pearson correlation of a chroma ``profile`` with the Krumhansl-Kessler profiles
    of each key: row 0 major, row 1 minor, column the tonic's pitch class."""
    return np.array([[np.corrcoef(np.roll(kk, k), profile)[0, 1] for k in range(12)] for kk in (_MAJOR, _MINOR)])


def _key(specs: list[np.ndarray]) -> tuple[int, int]:
    """(pitch class, mode) from the windows' ``peak_chroma`` correlated with the Krumhansl-Kessler
    profiles."""
    profile = peak_chroma(specs)
    if profile.sum() <= 0:
        return -1, 1
    corr = key_correlations(profile)
    _, key, mode = max((corr[row, k], k, mode) for row, mode in ((0, 1), (1, 0)) for k in range(12))
    return int(key), int(mode)


def transition_features(windows: list[np.ndarray], specs: list[np.ndarray]) -> tuple[float, int, int, float, float]:
    """(tempo_bpm, key, mode, energy 0..1, loudness_db) of the decoded windows."""
    audio = np.concatenate(windows)
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)) + 1e-9)
    loudness_db = 20 * np.log10(rms)
    # energy: loudness mapped from -40..-8 dBFS, brightened by the share of high-frequency power
    total = sum(float(s.sum()) for s in specs) + 1e-12
    bright = sum(float(s[:, 64:].sum()) for s in specs) / total  # above 2 kHz
    energy = float(np.clip(0.75 * (loudness_db + 40) / 32 + 0.25 * min(1.0, bright * 4), 0, 1))
    key, mode = _key(specs)
    return _tempo(specs), key, mode, energy, float(loudness_db)


class QuadrantModel(Protocol):
    """What analysis needs of a music emotion model (``music_model.MusicEmotionModel``)."""

    def predict(self, patches: np.ndarray) -> np.ndarray:
        """(P, mel, frames) patches of one track -> (4,) probabilities over QUADRANTS."""
        ...


def analyse(path: Path, model: QuadrantModel) -> TrackFeatures:
    """Decode ``path`` (raises decode.DecodeError) and compute everything the index stores."""
    windows = decode_windows(path, SAMPLE_RATE, WINDOW_S, PATCHES)
    specs = [power_spectrogram(w) for w in windows]
    patches = model_patches(specs)
    qprobs = model.predict(patches)
    if not np.all(np.isfinite(qprobs)):
        # no file makes a sound model say NaN: its weights are damaged, and storing the numbers
        # would poison the index (the ranking cannot draw from NaN scores)
        raise ModelError("the music model gives non-finite output: its weights are damaged (reinstall the model)")
    tempo, key, mode, energy, loudness = transition_features(windows, specs)
    dur = duration_s(path) or sum(len(w) for w in windows) / SAMPLE_RATE
    return TrackFeatures(
        emotion=from_quadrant_probs(qprobs[None, :])[0], quadrant_probs=qprobs, tempo_bpm=tempo, key=key,
        mode=mode, energy=energy, loudness_db=loudness, duration_s=float(dur),
    )
