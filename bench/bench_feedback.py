"""Does the taste learner lower the skip rate of listeners with hidden preferences?

Simulated listeners play 200 tracks each from the real scanned 4Q library through the real
``Controller`` (shipped defaults, policy ``match``), the bench being its player and its listener
on a clock of its own: it plays what ``PlayRequested`` asks and reports the play's start and end
(a skip is ``player_command(NEXT)``), presses like (``feedback``), and sets the room's mood
(``set_mood``: a certain mood) as the last track of the old one ends. The controller chooses the
next track when one starts, on a like, on a mood change and right after a skip is learned, so a
skip or a like steers the very next track and a completion the one after next. The listeners
skip what they dislike with probability 0.9 (early: 2-12 s into a 30 s clip) and anything else
with a small base rate (at a uniform time, so some of those skips are late). The learner sees
only what the controller hands it of those; the listener's preferences are hidden from it and
some are defined on things it never sees (the annotators' quadrant). Without learning (``no``)
is the ranking without a taste part, which already penalises a skipped track in that mood
(``PlayHistory``); every arm keeps that. A third arm, ``oracle``, ranks with the hidden
preference itself as the taste part (``Listener.oracle_taste``): what a perfect learner could
reach with this ranking, this library and its no-repeat window (half the library: no track comes
back within 200). Where the oracle does not halve the skip rate, knowing the preference exactly
is not enough.

The listener who likes one artist when happy: the artist is the one with the most happy clips
in the 4Q set (Gipsy Kings, 9 clips, all annotated Q1; most 4Q artists have one clip). When happy
they press like on that artist's tracks and hear them to the end, and skip a third of the rest
early: a listener who puts on the speaker to hear that artist. Nine clips can fill at most nine of
the fifty happy tracks in 200, which is why even the oracle cannot halve this listener's skips.

Index: the real ``moodshuffle scan`` of a copy of ``../shared/data/music-4q/audio`` whose files
carry the artist, title and AllMusic genres of ``labels.csv`` as tags (the clips ship untagged,
and the artist and the genres are among the learner's inputs); about 10-30 minutes of CPU,
once::

    .venv/bin/python bench/bench_feedback.py --tagged-copy /var/tmp/listener-bench
    nice .venv/bin/moodshuffle -c /var/tmp/listener-bench/scan.yaml scan
    .venv/bin/python bench/bench_feedback.py --index /var/tmp/listener-bench/index.sqlite3

Prints one markdown table: skip rate (mean +- standard deviation over seeds) by blocks of
tracks, without taste, learned and oracle, and whether the skip rate halved within 50 tracks
(``--only TEXT``: only the listeners whose description contains TEXT).
"""

from __future__ import annotations

import argparse
import csv
import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "daemon"))

import numpy as np  # noqa: E402

from moodshuffle.config import Config  # noqa: E402
from moodshuffle.core import Controller, CoreListener, PlayerAction, PlayRequested  # noqa: E402
from moodshuffle.decide.taste import TasteModel, rebuild_taste  # noqa: E402
from moodshuffle.domain.history import FeedbackKind  # noqa: E402
from moodshuffle.domain.tracks import Track, TrackTable  # noqa: E402
from moodshuffle.library.index import TrackIndex  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "music-4q"
BLOCKS = ((0, 25), (25, 50), (50, 100), (100, 200))
P_SKIP_DISLIKED = 0.9
#: the oracle's score for a liked (+) or disliked (-) track: more than the whole similarity range
ORACLE_TASTE = 2.0
#: the artist the "likes one artist when happy" listener likes: the one with most happy clips (9)
FAVOURITE = "Gipsy Kings"


def never(row: int, mood: str) -> bool:
    return False


@dataclass(frozen=True)
class Listener:
    """``dislikes(row, mood)``: the hidden dislike, skipped early with probability
    ``p_skip_disliked``; ``likes(row, mood)``: heard to the end and liked (the like button);
    ``moods(t)``: the room's mood at track t; ``base_skip``: the chance of skipping anything else."""

    name: str
    dislikes: Callable[[int, str], bool]
    moods: Callable[[int], str]
    base_skip: float
    has_preferences: bool = True
    likes: Callable[[int, str], bool] = never
    p_skip_disliked: float = P_SKIP_DISLIKED

    def oracle_taste(self, table: TrackTable, mood: str) -> np.ndarray:
        """(N,) taste scores that know the hidden preference in ``mood``: what a perfect learner
        could give the ranking (ORACLE_TASTE up for a liked track, down for a disliked one)."""
        rows = range(len(table))
        liked = np.array([self.likes(r, mood) for r in rows])
        disliked = np.array([self.dislikes(r, mood) for r in rows])
        return (ORACLE_TASTE * (liked.astype(np.float32) - disliked.astype(np.float32))).astype(np.float32)


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
        Listener("when happy, skips Latin music (any of its AllMusic genres)",
                 lambda r, m: m == "happy" and bool(latin[r]), day, 0.03),
        Listener("in every mood, skips angry/tense music (annotated Q2)",
                 lambda r, m: quadrant[r] == "Q2", day, 0.03),
        Listener(f"when happy, likes one artist ({FAVOURITE}: presses like, hears to the end) and skips "
                 "a third of the rest", lambda r, m: m == "happy" and table.artists[r] != FAVOURITE, day, 0.03,
                 likes=lambda r, m: m == "happy" and table.artists[r] == FAVOURITE, p_skip_disliked=1 / 3),
        Listener("no preference beyond the mood: skips music that does not fit it (annotated quadrant)",
                 lambda r, m: m in fits and quadrant[r] != fits[m], day, 0.03, has_preferences=False),
        Listener("no preferences: skips 15% at random",
                 lambda r, m: False, day, 0.15, has_preferences=False),
    ]


class Arm(StrEnum):
    """How the ranking is given taste: none (today's ranking), learned, or the hidden truth."""

    NO = "no"
    YES = "yes"
    ORACLE = "oracle"


class FixedTaste(TasteModel):
    """A taste that learns nothing: none (``no``) or the hidden preference (``oracle``, no
    exploration draws). The controller has no switch for its learner: these arms replace it."""

    def __init__(self, scores: Callable[[str], np.ndarray] | None) -> None:
        super().__init__()
        self._fixed = scores
        self.evidence = {} if scores is None else {"oracle": 1}  # no evidence: no taste part at all

    def learn(self, table: TrackTable, row: int, mood: str, reward: float) -> None:
        pass

    def scores(self, table: TrackTable, mood: str, rng: np.random.Generator | None = None) -> np.ndarray:
        assert self._fixed is not None
        return self._fixed(mood)


class Player(CoreListener):
    """The player the controller drives: what it was last asked to play."""

    def __init__(self) -> None:
        self.requested: Track | None = None

    def play_requested(self, event: PlayRequested) -> None:
        self.requested = event.track


def simulate(table: TrackTable, listener: Listener, seed: int, arm: Arm,
             tracks: int) -> tuple[np.ndarray, np.ndarray]:
    """((tracks,) bool: which of the tracks played the listener skipped, (tracks,) their rows)."""
    # the listener's chance has a stream of its own; the ranking and the learner's exploration
    # share the controller's one, so a learning arm's draws part from the others' once it learns
    ear = np.random.default_rng(10_000 + seed)
    row_of = {int(i): r for r, i in enumerate(table.ids)}
    cfg, now = Config(), 0.0
    # only the head of the upcoming list ever plays (it is chosen again at every start, skip, like
    # and mood change) and it is drawn first: the list's length (shipped: 10) changes how many
    # draws follow it, not what plays, and 1 makes the run 4 times shorter
    cfg.player.upcoming = 1
    if arm == Arm.YES:
        learner = rebuild_taste
    else:  # a learner that learns nothing (no) or knows the hidden preference (oracle)
        oracle = functools.cache(lambda mood: listener.oracle_taste(table, mood))
        taste = FixedTaste(oracle if arm == Arm.ORACLE else None)
        learner = lambda *_: taste  # noqa: E731
    controller = Controller(cfg, now, np.random.default_rng(seed), learner=learner)
    player = Player()
    controller.add_listener(player)
    controller.library_loaded(table)
    controller.set_mood(listener.moods(0))
    controller.start()
    skipped = np.zeros(tracks, bool)
    rows = np.zeros(tracks, np.int64)
    for t in range(tracks):
        label, track = listener.moods(t), player.requested
        assert track is not None
        row = rows[t] = row_of[track.track_id]
        controller.track_started(track.track_id)
        if listener.likes(row, label):
            controller.feedback(FeedbackKind.LIKE)
            heard = track.duration_s
        elif listener.dislikes(row, label) and ear.random() < listener.p_skip_disliked:
            heard = float(ear.uniform(2, 12))
        elif ear.random() < listener.base_skip:
            heard = float(ear.uniform(0, track.duration_s))
        else:
            heard = track.duration_s
        skipped[t] = heard < track.duration_s
        now += heard
        controller.tick(now)
        # the mood changes as this track ends (the controller has no moment between two tracks):
        # the next one is chosen in the new mood, before this one's completion is learned
        if t + 1 < tracks and listener.moods(t + 1) != label:
            controller.set_mood(listener.moods(t + 1))
        if skipped[t]:
            controller.player_command(PlayerAction.NEXT)
            controller.track_stopped(track.track_id, heard)
        else:
            controller.track_finished(track.track_id)
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
    """Copy the 4Q clips into ``folder``/music with their artist, title and genres written as tags, and
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
        tags["genre"] = r["genres"].split("; ")  # AllMusic's genres, one tag value each
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
    ap.add_argument("--first-seed", type=int, default=0, help="seeds FIRST_SEED .. FIRST_SEED + SEEDS - 1")
    ap.add_argument("--tracks", type=int, default=200)
    ap.add_argument("--only", default="", help="run only the listeners whose description contains this")
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
    print(f"{len(table)} tracks from {args.index}; seeds {args.first_seed}-{args.first_seed + args.seeds - 1}"
          f" x {args.tracks} tracks per listener; "
          "skip rate, mean +- standard deviation over seeds\n")
    heads = [f"{lo + 1}-{hi}" for lo, hi in BLOCKS if hi <= args.tracks] + [f"all {args.tracks}"]
    print("| listener | taste | " + " | ".join(heads) + " | mood fit | halved by track 50 |")
    print("| --- | --- | " + " | ".join("---" for _ in heads) + " | --- | --- |")
    for listener in [li for li in listeners(table, labels) if args.only in li.name]:
        arms = {}
        for arm in Arm:
            runs = [simulate(table, listener, s, arm, args.tracks)
                    for s in range(args.first_seed, args.first_seed + args.seeds)]
            arms[arm] = (np.stack([r[0] for r in runs]), np.stack([r[1] for r in runs]))
        without = block_rates(arms[Arm.NO][0])
        for arm in Arm:
            rates = block_rates(arms[arm][0])
            verdict = "" if arm == Arm.NO else verdict_of(rates, without, args.seeds, listener.has_preferences)
            cells = " | ".join(f"{m:.1%} +- {s:.1%}" for m, s in rates)
            fit = mood_fit(arms[arm][1], listener, quadrant)
            name = listener.name if arm == Arm.NO else ""
            print(f"| {name} | {arm} | {cells} | {fit:.0%} | {verdict} |")


def verdict_of(rates: list[tuple[float, float]], without: list[tuple[float, float]], seeds: int,
               has_preferences: bool) -> str:
    """For a listener with preferences, whether the skip rate halved: from the 26-50 block on,
    every block at most half the rate without taste; for one without, whether it rose: a block
    above the rate without taste by more than two standard errors."""
    if has_preferences:
        halved = all(w[0] <= 0.5 * o[0] for w, o in zip(rates[1:-1], without[1:-1], strict=True))
        return "yes" if halved else "no"
    se = [np.hypot(w[1], o[1]) / np.sqrt(seeds) for w, o in zip(rates, without, strict=True)]
    rose = any(w[0] > o[0] + 2 * e for w, o, e in zip(rates, without, se, strict=True))
    return "(rose)" if rose else "(did not rise)"

if __name__ == "__main__":
    main()
