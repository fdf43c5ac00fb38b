"""Does the taste learner lower the skip rate of listeners with hidden preferences?

Simulated listeners play 200 tracks each from the real scanned 4Q library, chosen one at a
time by the real ``rank_upcoming`` (policy ``match``, shipped defaults), and skip what they
dislike with probability 0.9 (early: 2-12 s into a 30 s clip) and anything else with a small
base rate (at a uniform time, so some of those skips are late). The learner sees only those
skips and the completions (through ``TasteModel.learn_play``, as the daemon would); the
listener's preferences are hidden from it and some are defined on things it never sees (the
AllMusic genre, the annotators' quadrant). Without learning is today's ranking, which already
penalises a skipped track in that mood (``PlayHistory``); both arms keep that.

Index: scan a copy of ``../shared/data/music-4q/audio`` whose files carry the artist and title
of ``labels.csv`` as tags (the clips ship untagged; the artist is a feature of the learner)::

    .venv/bin/python bench/bench_feedback.py --index /var/tmp/listener-bench/index.sqlite3

Prints one markdown table: skip rate (mean +- standard deviation over seeds) by blocks of
tracks, with learning and without, and whether the skip rate halved within 50 tracks.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon"))

import numpy as np  # noqa: E402

from moodshuffle.config import MoodConfig  # noqa: E402
from moodshuffle.decide.ranking import PlayHistory, rank_upcoming  # noqa: E402
from moodshuffle.decide.taste import TasteModel  # noqa: E402
from moodshuffle.emotions import INDEX, N_EMOTIONS, va_from_probs  # noqa: E402
from moodshuffle.estimate.mood import MoodState  # noqa: E402
from moodshuffle.library.history import PlayOutcome  # noqa: E402
from moodshuffle.library.index import TrackIndex  # noqa: E402
from moodshuffle.library.table import TrackTable  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "music-4q"
BLOCKS = ((0, 25), (25, 50), (50, 100), (100, 200))
P_SKIP_DISLIKED = 0.9


def mood_state(label: str) -> MoodState:
    """A settled mood: 85% of the probability on ``label``."""
    probs = np.full(N_EMOTIONS, 0.15 / (N_EMOTIONS - 1), np.float32)
    probs[INDEX[label]] = 0.85
    v, a = va_from_probs(probs)
    return MoodState(probs, float(v), float(a), 0.85, label, 1, 0.0, 0.0)


@dataclass(frozen=True)
class Listener:
    """``dislikes(row, mood)``: the hidden preference; ``moods(t)``: the room's mood at track t."""

    name: str
    dislikes: Callable[[int, str], bool]
    moods: Callable[[int], str]
    base_skip: float
    has_preferences: bool = True


def listeners(table: TrackTable, labels: dict[str, dict[str, str]]) -> list[Listener]:
    meta = [labels[Path(p).name] for p in table.paths]
    loud = table.energy > np.median(table.energy)
    latin = np.array(["Latin" in m["genres"] for m in meta])
    tense = np.array([m["quadrant"] == "Q2" for m in meta])
    cycle = ("angry", "sad", "neutral", "happy")
    return [
        Listener("sad: skips loud tracks (energy above the library median)",
                 lambda r, m: m == "sad" and bool(loud[r]), lambda t: "sad", 0.05),
        Listener("happy: skips Latin music (AllMusic genre, unseen by the learner)",
                 lambda r, m: m == "happy" and bool(latin[r]), lambda t: "happy", 0.05),
        Listener("every mood: skips angry/tense music (annotated Q2); mood cycles every 10 tracks",
                 lambda r, m: bool(tense[r]), lambda t: cycle[(t // 10) % 4], 0.05),
        Listener("no preferences: skips 15% at random; mood cycles every 10 tracks",
                 lambda r, m: False, lambda t: cycle[(t // 10) % 4], 0.15, has_preferences=False),
    ]


def simulate(table: TrackTable, listener: Listener, seed: int, learn: bool, tracks: int) -> np.ndarray:
    """(tracks,) bool: which of the tracks played the listener skipped."""
    cfg = MoodConfig()
    rng = np.random.default_rng(seed)
    ear = np.random.default_rng(10_000 + seed)  # the listener's own chance, apart from the ranking's
    history = PlayHistory()
    model = TasteModel() if learn else None
    skipped = np.zeros(tracks, bool)
    current: int | None = None
    for t in range(tracks):
        label = listener.moods(t)
        state = mood_state(label)
        taste = model.scores(table, label, rng) if model is not None else None
        (choice,) = rank_upcoming(table, state, "match", history, 1, rng, cfg, current=current, taste=taste)
        row = choice.index
        history.record_play(choice.track_id)
        duration = float(table.duration_s[row])
        if listener.dislikes(row, label) and ear.random() < P_SKIP_DISLIKED:
            heard = float(ear.uniform(2, 12))
        elif ear.random() < listener.base_skip:
            heard = float(ear.uniform(0, duration))
        else:
            heard = duration
        skipped[t] = heard < duration
        if skipped[t]:
            history.record_skip(choice.track_id, label)
        if model is not None:
            model.learn_play(table, row, label, PlayOutcome.SKIPPED if skipped[t] else PlayOutcome.COMPLETED, heard)
        current = choice.track_id
    return skipped


def block_rates(runs: np.ndarray) -> list[tuple[float, float]]:
    """(mean, std over seeds) of the skip rate in each block; ``runs`` is (seeds, tracks)."""
    out = []
    for lo, hi in BLOCKS:
        rates = runs[:, lo:hi].mean(axis=1)
        out.append((float(rates.mean()), float(rates.std())))
    rates = runs.mean(axis=1)
    out.append((float(rates.mean()), float(rates.std())))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True, help="the scanned 4Q index (see the module docstring)")
    ap.add_argument("--labels", type=Path, default=DATA / "labels.csv")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--tracks", type=int, default=200)
    args = ap.parse_args()
    table = TrackIndex(args.index).load_table()
    with open(args.labels, newline="") as f:
        labels = {Path(r["file"]).name: r for r in csv.DictReader(f)}
    missing = [p for p in table.paths if Path(p).name not in labels]
    if missing:
        sys.exit(f"{args.index}: {len(missing)} tracks are not in {args.labels}, e.g. {missing[0]}")
    print(f"{len(table)} tracks from {args.index}, {args.seeds} seeds x {args.tracks} tracks per listener\n")
    heads = [f"{lo + 1}-{hi}" for lo, hi in BLOCKS] + [f"all {args.tracks}"]
    print("| listener | learning | " + " | ".join(heads) + " | halved by track 50 |")
    print("| --- | --- | " + " | ".join("---" for _ in heads) + " | --- |")
    for listener in listeners(table, labels):
        plain = np.stack([simulate(table, listener, s, False, args.tracks) for s in range(args.seeds)])
        learned = np.stack([simulate(table, listener, s, True, args.tracks) for s in range(args.seeds)])
        without, with_ = block_rates(plain), block_rates(learned)
        # halved: from the 26-50 block on, every block at most half the rate without learning
        halved = all(w[0] <= 0.5 * o[0] for w, o in zip(with_[1:-1], without[1:-1], strict=True))
        # a listener without preferences: no block more than two standard errors above
        se = [np.hypot(w[1], o[1]) / np.sqrt(args.seeds) for w, o in zip(with_, without, strict=True)]
        rose = any(w[0] > o[0] + 2 * s for w, o, s in zip(with_, without, se, strict=True))
        for arm, rates in (("no", without), ("yes", with_)):
            verdict = ""
            if arm == "yes" and listener.has_preferences:
                verdict = "yes" if halved else "no"
            elif arm == "yes":
                verdict = "(no rise)" if not rose else "(ROSE)"
            cells = " | ".join(f"{m:.1%} +- {s:.1%}" for m, s in rates)
            print(f"| {listener.name if arm == 'no' else ''} | {arm} | {cells} | {verdict} |")


if __name__ == "__main__":
    main()
