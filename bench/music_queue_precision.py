"""What listeners see of the music model: queue precision, the share of the next 10 tracks
whose labelled quadrant is the mood's, per mood, on a library of both labelled sets (the 720
4Q clips and the 200 Emotify clips).

Each track is placed where the daemon would place it (``from_quadrant_probs``) by the
out-of-fold probabilities of a recipe (so no track is placed by a head that saw it), and the
queue is chosen by the daemon's own ``rank_upcoming`` under the ``match`` policy, with its
default shuffle temperature and artist gap. The library holds no tempo, key or energy (the
ranking reads them as unknown, so the transition part is the same for every track): the
queue follows the emotion placement alone. The mood of each row is the centre of its
quadrant with that quadrant's class profile (Q1 happy, Q2 angry, Q3 sad, Q4 calm), i.e. the
point of a track certain to be in that quadrant.

    .venv/bin/python bench/music_queue_precision.py [--work /var/tmp/moodshuffle-music]

reads ``--work/oof.npz`` (written by ``models/train_music.py``, which also calls
``queue_precision`` for every candidate) and prints one JSON line per recipe.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon"))

from moodshuffle.config import MoodConfig  # noqa: E402
from moodshuffle.decide.ranking import PlayHistory, rank_upcoming  # noqa: E402
from moodshuffle.domain.emotions import QUADRANT_PROFILE, QUADRANT_VA, QUADRANTS, Emotion, from_quadrant_probs  # noqa: E402
from moodshuffle.domain.mood import MoodState  # noqa: E402
from moodshuffle.domain.policy import Policy  # noqa: E402
from moodshuffle.domain.tracks import TrackTable  # noqa: E402

MOODS: dict[str, Emotion] = {"Q1": Emotion.HAPPY, "Q2": Emotion.ANGRY, "Q3": Emotion.SAD, "Q4": Emotion.NEUTRAL}
QUEUE = 10


def library(qprobs: np.ndarray, artists: np.ndarray) -> TrackTable:
    """A track table of (N, 4) quadrant probabilities, with no tempo, key or energy."""
    n = len(qprobs)
    return TrackTable(
        ids=np.arange(1, n + 1, dtype=np.int64), paths=[f"/music/{i}.opus" for i in range(n)],
        titles=[f"t{i}" for i in range(n)], artists=[str(a) for a in artists], albums=["" for _ in range(n)],
        duration_s=np.full(n, 30.0, np.float32), emotion=from_quadrant_probs(np.asarray(qprobs, np.float32)),
        tempo_bpm=np.zeros(n, np.float32), key=np.full(n, -1, np.int8), mode=np.zeros(n, np.int8),
        energy=np.full(n, 0.5, np.float32), loudness_db=np.full(n, -14.0, np.float32), genres=[() for _ in range(n)],
    )


def mood_at(quadrant: int) -> MoodState:
    """A confident mood at the centre of ``quadrant`` with its class profile."""
    va = QUADRANT_VA[quadrant]
    return MoodState(probs=QUADRANT_PROFILE[quadrant].copy(), valence=float(va[0]), arousal=float(va[1]),
                     confidence=1.0, label=MOODS[QUADRANTS[quadrant]], faces=1, last_evidence=0.0, timestamp=0.0)


def queue_precision(oof: np.ndarray, y: np.ndarray, artists: np.ndarray, queues: int = 20) -> dict:
    """oof: (groupings, N, 4) out-of-fold probabilities; y: (N,) true quadrant indices.
    Per mood (by target quadrant) and over all four: the share of the next ``QUEUE`` tracks
    whose true quadrant is the mood's, averaged over ``queues`` fresh queues (seeded), then
    mean and sd over the groupings."""
    cfg = MoodConfig()
    per = np.zeros((len(oof), 4))
    for g, probs in enumerate(oof):
        table = library(probs, artists)
        for q in range(4):
            hits = []
            for seed in range(queues):
                chosen = rank_upcoming(table, mood_at(q), Policy.MATCH, PlayHistory(), QUEUE,
                                       np.random.default_rng(seed), cfg)
                hits += [y[c.index] == q for c in chosen]
            per[g, q] = np.mean(hits)
    out = {f"{q} {MOODS[q].value if q != 'Q4' else 'calm'}": {"mean": round(float(per[:, i].mean()), 4),
                                                               "sd": round(float(per[:, i].std()), 4)}
           for i, q in enumerate(QUADRANTS)}
    out["all"] = {"mean": round(float(per.mean()), 4), "sd": round(float(per.mean(1).std()), 4)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/moodshuffle-music"))
    args = parser.parse_args()
    saved = np.load(args.work / "oof.npz")
    for name, oof in zip(saved["names"], saved["oof"], strict=True):
        print(json.dumps({"recipe": str(name), "queue_precision": queue_precision(oof, saved["y"], saved["artist"])}))


if __name__ == "__main__":
    main()
