"""Track tables for tests of the decide stage."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from moodshuffle.domain.emotions import QUADRANTS, from_quadrant_probs
from moodshuffle.domain.tracks import TrackTable
from moodshuffle.library.tags import track_genres


def table_from_4q_labels(data: Path, seed: int = 0) -> TrackTable:
    """The 720 real 4Q clips with their labelled quadrant as emotion (one-hot) and seeded
    tempo/key/energy; quadrant of row i in ``quadrants``."""
    with open(data / "music-4q" / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    rng = np.random.default_rng(seed)
    q = np.array([QUADRANTS.index(r["quadrant"]) for r in rows])
    n = len(rows)
    return TrackTable(
        ids=np.arange(1, n + 1, dtype=np.int64),
        paths=[str(data / "music-4q" / r["file"]) for r in rows],
        titles=[r["title"] for r in rows],
        artists=[r["artist"] for r in rows],
        albums=["" for _ in rows],
        duration_s=np.full(n, 30.0, np.float32),
        emotion=from_quadrant_probs(np.eye(4, dtype=np.float32)[q]),
        tempo_bpm=rng.uniform(70, 160, n).astype(np.float32),
        key=rng.integers(0, 12, n).astype(np.int8),
        mode=rng.integers(0, 2, n).astype(np.int8),
        energy=np.where(np.isin(q, [0, 1]), 0.7, 0.3).astype(np.float32) + rng.normal(0, 0.05, n).astype(np.float32),
        loudness_db=np.full(n, -14.0, np.float32),
        genres=[track_genres(r["genres"]) for r in rows],
    )


def random_table(n: int, seed: int = 0) -> TrackTable:
    """A synthetic library of ``n`` tracks (for benchmarks and property tests)."""
    rng = np.random.default_rng(seed)
    q = rng.dirichlet(np.ones(4) * 0.3, n).astype(np.float32)
    return TrackTable(
        ids=np.arange(1, n + 1, dtype=np.int64), paths=[f"/music/{i}.ogg" for i in range(n)],
        titles=[f"t{i}" for i in range(n)], artists=[f"a{i % max(1, n // 8)}" for i in range(n)],
        albums=["" for _ in range(n)], duration_s=np.full(n, 200.0, np.float32), emotion=from_quadrant_probs(q),
        tempo_bpm=rng.uniform(60, 180, n).astype(np.float32), key=rng.integers(-1, 12, n).astype(np.int8),
        mode=rng.integers(0, 2, n).astype(np.int8), energy=rng.uniform(0, 1, n).astype(np.float32),
        loudness_db=rng.uniform(-20, -8, n).astype(np.float32), genres=[() for _ in range(n)],
    )
