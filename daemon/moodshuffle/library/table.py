"""The in-memory view of the indexed library that ranking works on (read-only, numpy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrackTable:
    """Every playable (analysed, not failed) track, row i describing one track.

    emotion: (N, 9) float32 rows of [7 probabilities over EMOTIONS, valence, arousal]
        (see ``emotions.from_quadrant_probs``).
    tempo_bpm: (N,) float32, 0 where unknown.
    key: (N,) int8 pitch class 0..11 (0 = C), -1 where unknown; mode: (N,) int8, 1 major, 0 minor.
    energy: (N,) float32 in [0, 1]; loudness_db: (N,) float32 (integrated, dBFS-ish).
    """

    ids: np.ndarray
    paths: list[str]
    titles: list[str]
    artists: list[str]
    albums: list[str]
    duration_s: np.ndarray
    emotion: np.ndarray
    tempo_bpm: np.ndarray
    key: np.ndarray
    mode: np.ndarray
    energy: np.ndarray
    loudness_db: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def empty() -> TrackTable:
        z = np.zeros(0, np.float32)
        return TrackTable(
            ids=np.zeros(0, np.int64), paths=[], titles=[], artists=[], albums=[], duration_s=z,
            emotion=np.zeros((0, 9), np.float32), tempo_bpm=z, key=np.zeros(0, np.int8),
            mode=np.zeros(0, np.int8), energy=z, loudness_db=z,
        )
