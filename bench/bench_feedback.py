"""Does the taste learner lower the skip rate of listeners with hidden preferences?

Simulated listeners play 200 tracks each from the real scanned 4Q library, chosen one at a
time by the real ``rank_upcoming`` (policy ``match``, shipped defaults; as in the daemon, the
next track is chosen when the current one starts, so a verdict steers the track after next),
and skip what they
dislike with probability 0.9 (early: 2-12 s into a 30 s clip) and anything else with a small
base rate (at a uniform time, so some of those skips are late). The learner sees only those
skips and the completions (through ``TasteModel.learn_play``, as the daemon would); the
listener's preferences are hidden from it and some are defined on things it never sees (the
AllMusic genre, the annotators' quadrant). Without learning is today's ranking, which already
penalises a skipped track in that mood (``PlayHistory``); both arms keep that.

Index: the real ``moodshuffle scan`` of a copy of ``../shared/data/music-4q/audio`` whose files
carry the artist and title of ``labels.csv`` as tags (the clips ship untagged, and the artist
is one of the learner's inputs); about 10-30 minutes of CPU, once::

    .venv/bin/python bench/bench_feedback.py --tagged-copy /var/tmp/listener-bench
    nice .venv/bin/moodshuffle -c /var/tmp/listener-bench/scan.yaml scan
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
from moodshuffle.decide.ranking import PlayHistory, UpcomingTrack, rank_upcoming  # noqa: E402
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
    quadrant = np.array([m["quadrant"] for m in meta])
    cycle = ("sad", "neutral", "happy", "angry")

    def day(t: int) -> str:
        """The room's mood while track ``t`` plays: a new mood every 10 tracks (about 40 minutes)."""
        return cycle[(t // 10) % len(cycle)]

    fits = {"angry": "Q2", "sad": "Q3", "happy": "Q1"}  # neutral: any quadrant fits
    return [
        Listener("when sad, skips loud tracks (energy above the library median)",
                 lambda r, m: m == "sad" and bool(loud[r]), day, 0.03),
        Listener("when happy, skips Latin music (AllMusic genre, unseen by the learner)",
                 lambda r, m: m == "happy" and bool(latin[r]), day, 0.03),
        Listener("in every mood, skips angry/tense music (annotated Q2)",
                 lambda r, m: quadrant[r] == "Q2", day, 0.03),
        Listener("no preference beyond the mood: skips music that does not fit it (annotated quadrant)",
                 lambda r, m: m in fits and quadrant[r] != fits[m], day, 0.03, has_preferences=False),
        Listener("no preferences: skips 15% at random",
                 lambda r, m: False, day, 0.15, has_preferences=False),
    ]


def simulate(table: TrackTable, listener: Listener, seed: int, learn: bool,
             tracks: int) -> tuple[np.ndarray, np.ndarray]:
    """((tracks,) bool: which of the tracks played the listener skipped, (tracks,) their rows)."""
    cfg = MoodConfig()
    rng = np.random.default_rng(seed)
    ear = np.random.default_rng(10_000 + seed)  # the listener's own chance, apart from the ranking's
    history = PlayHistory()
    model = TasteModel() if learn else None
    skipped = np.zeros(tracks, bool)
    rows = np.zeros(tracks, np.int64)

    def choose(label: str, current: int | None) -> UpcomingTrack:
        taste = model.scores(table, label, rng) if model is not None else None
        (choice,) = rank_upcoming(table, mood_state(label), "match", history, 1, rng, cfg, current=current,
                                  taste=taste)
        return choice

    # as in the daemon, the next track is chosen when the current one starts (before the
    # listener's verdict on it), and again when the mood changes
    upcoming = choose(listener.moods(0), None)
    for t in range(tracks):
        label = listener.moods(t)
        if t > 0 and label != listener.moods(t - 1):
            upcoming = choose(label, int(table.ids[rows[t - 1]]))
        playing = upcoming
        row = rows[t] = playing.index
        history.record_play(playing.track_id)
        upcoming = choose(label, playing.track_id)
        duration = float(table.duration_s[row])
        if listener.dislikes(row, label) and ear.random() < P_SKIP_DISLIKED:
            heard = float(ear.uniform(2, 12))
        elif ear.random() < listener.base_skip:
            heard = float(ear.uniform(0, duration))
        else:
            heard = duration
        skipped[t] = heard < duration
        if skipped[t]:
            history.record_skip(playing.track_id, label)
        if model is not None:
            model.learn_play(table, row, label, PlayOutcome.SKIPPED if skipped[t] else PlayOutcome.COMPLETED, heard)
    return skipped, rows


def block_rates(runs: np.ndarray) -> list[tuple[float, float]]:
    """(mean, std over seeds) of the skip rate in each block and overall; ``runs`` is (seeds, tracks)."""
    spans = [(lo, hi) for lo, hi in BLOCKS if hi <= runs.shape[1]] + [(0, runs.shape[1])]
    return [(float(runs[:, lo:hi].mean(axis=1).mean()), float(runs[:, lo:hi].mean(axis=1).std()))
            for lo, hi in spans]


def mood_fit(rows: np.ndarray, listener: Listener, quadrant: np.ndarray) -> float:
    """Share of the tracks played in a non-neutral mood whose annotated quadrant is the mood's:
    what taste costs the mood match."""
    fits = {"angry": "Q2", "sad": "Q3", "happy": "Q1"}
    hits = [quadrant[r] == fits[listener.moods(t)] for run in rows for t, r in enumerate(run)
            if listener.moods(t) in fits]
    return float(np.mean(hits)) if hits else float("nan")


def tagged_copy(labels: Path, folder: Path) -> None:
    """Copy the 4Q clips into ``folder``/music with their artist and title written as tags, and
    write ``folder``/scan.yaml to index them into ``folder``/index.sqlite3."""
    import shutil

    import mutagen

    with open(labels, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        out = folder / "music" / r["file"]
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(labels.parent / r["file"], out)
        tags = mutagen.File(str(out), easy=True)
        tags["artist"], tags["title"] = r["artist"], r["title"]
        tags.save()
    (folder / "scan.yaml").write_text(
        f"library:\n  paths: [{folder / 'music'}]\n  index_path: {folder / 'index.sqlite3'}\n")
    print(f"{len(rows)} tagged clips in {folder / 'music'}; now: moodshuffle -c {folder / 'scan.yaml'} scan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, help="the scanned 4Q index (see the module docstring)")
    ap.add_argument("--tagged-copy", type=Path, metavar="DIR", help="prepare the tagged clips to scan, and exit")
    ap.add_argument("--labels", type=Path, default=DATA / "labels.csv")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--tracks", type=int, default=200)
    args = ap.parse_args()
    if args.tagged_copy is not None:
        tagged_copy(args.labels, args.tagged_copy)
        return
    if args.index is None:
        ap.error("--index is required (or --tagged-copy to prepare one)")
    table = TrackIndex(args.index).load_table()
    with open(args.labels, newline="") as f:
        labels = {Path(r["file"]).name: r for r in csv.DictReader(f)}
    missing = [p for p in table.paths if Path(p).name not in labels]
    if missing:
        sys.exit(f"{args.index}: {len(missing)} tracks are not in {args.labels}, e.g. {missing[0]}")
    quadrant = np.array([labels[Path(p).name]["quadrant"] for p in table.paths])
    print(f"{len(table)} tracks from {args.index}; {args.seeds} seeds x {args.tracks} tracks per listener; "
          "skip rate, mean +- standard deviation over seeds\n")
    heads = [f"{lo + 1}-{hi}" for lo, hi in BLOCKS if hi <= args.tracks] + [f"all {args.tracks}"]
    print("| listener | learning | " + " | ".join(heads) + " | mood fit | halved by track 50 |")
    print("| --- | --- | " + " | ".join("---" for _ in heads) + " | --- | --- |")
    for listener in listeners(table, labels):
        arms = {}
        for learn in (False, True):
            runs = [simulate(table, listener, s, learn, args.tracks) for s in range(args.seeds)]
            arms[learn] = (np.stack([r[0] for r in runs]), np.stack([r[1] for r in runs]))
        without, with_ = block_rates(arms[False][0]), block_rates(arms[True][0])
        # halved: from the 26-50 block on, every block at most half the rate without learning
        halved = all(w[0] <= 0.5 * o[0] for w, o in zip(with_[1:-1], without[1:-1], strict=True))
        # no rise: no block above the rate without learning by more than two standard errors
        se = [np.hypot(w[1], o[1]) / np.sqrt(args.seeds) for w, o in zip(with_, without, strict=True)]
        rose = any(w[0] > o[0] + 2 * e for w, o, e in zip(with_, without, se, strict=True))
        for learn, rates in ((False, without), (True, with_)):
            verdict = ""
            if learn:
                verdict = ("yes" if halved else "no") if listener.has_preferences else (
                    "(rose)" if rose else "(did not rise)")
            cells = " | ".join(f"{m:.1%} +- {s:.1%}" for m, s in rates)
            fit = mood_fit(arms[learn][1], listener, quadrant)
            name = "" if learn else listener.name
            print(f"| {name} | {'yes' if learn else 'no'} | {cells} | {fit:.0%} | {verdict} |")


if __name__ == "__main__":
    main()
