"""Choose the mood LABEL design by the posed mood scenes of issue 27, fast.

    .venv/bin/python bench/sweep_label.py [--designs NAME ...] [--lopo] [--per-scene]

Scenes: exactly those of ``../shared/tools/mood_scenes.py`` on ``faces/posed``: for each
performer and each of the six expressions, 20 s of their neutral photos (cycled, 1 s each),
then 30 s of that expression (cycled, 2 s each), 640x480 at 4 fps, written as mp4v video and
read back as ``moodshuffle eval mood`` reads it (``evaluation.mood.sample_video`` at the
camera interval, the shipped FaceAnalyzer with its tuning file). The camera path runs once per
scene; the observations are cached under ~/.cache/moodshuffle-mood (keyed by the models and
the tuning file, as bench/sweep_mood.py does). Every design then replays them through its
estimator in milliseconds.

Figures, per expression class and overall (the issue's):
  * label15 / label30: scenes whose mood label became the expression within 15 s / 30 s;
  * quad15: share of the last 15 s whose (valence, arousal) lies in the expression's
    quadrant (angry, disgust, fear: Q2; sad: Q3; happy, surprise: Q1; points within 0.05 of
    the origin count as misses), as mood_scenes.py scores it;
  * hold15: share of the last 15 s whose label is the expression (a label that only touches
    the class once is not naming it);
  * rest: share of rest samples reading neutral (eval mood's rule) and scenes with a label
    change at rest.

``--lopo``: designs with a parameter are chosen leave-one-performer-out (the parameter picked
on 7 performers, scored on the 8th), so that a tuned figure is not a fit to these 8 people.

``--naming``: the departure naming (``models/fit_mood_naming.py``) scored honestly: for each
performer the map is fitted on the other seven performers' photos, and the label's sensitivity and
the map's C are chosen on those seven's scenes (nested), then scored on the eighth's scenes.
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import functools
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "daemon"))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "models"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from moodshuffle.config import MoodConfig, load_config  # noqa: E402
from moodshuffle.domain.observations import FaceObservation  # noqa: E402
from moodshuffle.estimate.mood import MoodEstimator  # noqa: E402
from moodshuffle.evaluation.mood import fold_observed, sample_video  # noqa: E402
from moodshuffle.evaluation.mood_score import Segment, TimelinePoint, label_changes, score_segments  # noqa: E402
from moodshuffle.perceive.faces import FaceAnalyzer  # noqa: E402

POSED = SHARED / "faces" / "posed"
CACHE = Path.home() / ".cache" / "moodshuffle-mood"
CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise")
WANT = {"angry": "Q2", "disgust": "Q2", "fear": "Q2", "sad": "Q3", "happy": "Q1", "surprise": "Q1"}
REST_S, EXPR_S, FPS = 20.0, 30.0, 4
SEGMENTS = [Segment(0, REST_S, "neutral"), Segment(REST_S, REST_S + EXPR_S, "")]

Observed = list[tuple[float, list[FaceObservation]]]
#: (performer, emotion) -> observations
Scenes = dict[tuple[str, str], Observed]


def _photos() -> dict[tuple[str, str], list[Path]]:
    by: dict[tuple[str, str], list[Path]] = collections.defaultdict(list)
    with open(POSED / "labels.csv", newline="") as f:
        for r in csv.DictReader(f):
            by[(r["performer"], r["emotion"])].append(POSED / r["file"])
    return by


def scene_videos(tmp: Path) -> Iterator[tuple[tuple[str, str], Path]]:
    """Each scene's video, written into ``tmp``: (performer, emotion) and its path."""
    from fit_mood_naming import canvas

    by = _photos()
    for perf in sorted({p for p, _ in by}):
        rest = by.get((perf, "neutral"))
        if not rest:
            continue
        for emo in CLASSES:
            ex = by.get((perf, emo))
            if not ex:
                continue
            vid = tmp / f"{perf}-{emo}.mp4"
            vw = cv2.VideoWriter(str(vid), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (640, 480))
            for i in range(int(REST_S * FPS)):
                vw.write(canvas(rest[(i // FPS) % len(rest)]))
            for i in range(int(EXPR_S * FPS)):
                vw.write(canvas(ex[(i // (2 * FPS)) % len(ex)]))
            vw.release()
            yield (perf, emo), vid


def observe() -> Scenes:
    """The camera path over every scene video, cached."""
    from sweep_mood import _cache_key

    cfg = load_config(None)
    path = CACHE / f"label-scenes-{_cache_key(cfg)}-i{cfg.camera.interval_s:g}.pkl"
    if path.is_file():
        out: Scenes = pickle.loads(path.read_bytes())
        return out
    analyzer = FaceAnalyzer(cfg.camera, cfg.models)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, vid in scene_videos(Path(tmp)):
            out[key] = [(t, analyzer.analyze(frame, t)) for t, frame in sample_video(vid, cfg.camera.interval_s)]
            print(f"observed {key[0]}-{key[1]}", file=sys.stderr, flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


def quadrant(v: float, a: float) -> str:
    return "Q1" if v >= 0 and a >= 0 else "Q2" if v < 0 and a >= 0 else "Q3" if v < 0 else "Q4"


def score_scene(timeline: list[TimelinePoint], emo: str) -> dict[str, float | None]:
    segs = score_segments(timeline, [SEGMENTS[0], dataclasses.replace(SEGMENTS[1], emotion=emo)])["segments"]
    assert isinstance(segs, list)
    rest, ex = segs
    late = [p for p in timeline if p.t >= REST_S + EXPR_S - 15]
    return {
        "label_delay_s": ex["label_delay_s"],
        "quad15": sum(quadrant(p.valence, p.arousal) == WANT[emo] and abs(p.valence) + abs(p.arousal) > 0.05
                      for p in late) / len(late),
        "hold15": sum(p.label == emo for p in late) / len(late),
        "rest_match": rest["match_share"],
        "rest_changes": sum(1 for c in label_changes(timeline) if float(c["t"]) < REST_S),
        "expr_changes": sum(1 for c in label_changes(timeline) if float(c["t"]) >= REST_S),
    }


def measure(observed: Scenes, make: Callable[[], MoodEstimator],
            performers: set[str] | None = None) -> dict[tuple[str, str], dict[str, float | None]]:
    return {key: score_scene(fold_observed(obs, make()), key[1]) for key, obs in observed.items()
            if performers is None or key[0] in performers}


def summarise(scored: dict[tuple[str, str], dict[str, float | None]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for emo in (*CLASSES, "all"):
        rs = [r for (_, e), r in scored.items() if emo in (e, "all")]
        d = [r["label_delay_s"] for r in rs]
        out[emo] = {
            "scenes": len(rs),
            "label15": sum(x is not None and x <= 15 for x in d),
            "label30": sum(x is not None for x in d),
            "quad15": float(np.mean([r["quad15"] for r in rs])),
            "hold15": float(np.mean([r["hold15"] for r in rs])),
            "changes": float(np.mean([r["expr_changes"] for r in rs])),
        }
    out["all"]["rest_neutral"] = float(np.mean([r["rest_match"] for r in scored.values()]))
    out["all"]["rest_changes"] = sum(1 for r in scored.values() if r["rest_changes"])
    return out


def objective(s: dict[str, dict[str, float]]) -> float:
    """What a tuned parameter is chosen by: label15 + label30 + quad15 (shares), rest must hold."""
    a = s["all"]
    ok = a["rest_neutral"] >= 0.97 and a["rest_changes"] == 0
    return (a["label15"] + a["label30"]) / a["scenes"] + 2 * a["quad15"] + a["hold15"] - (0 if ok else 10)


def table(name: str, s: dict[str, dict[str, float]]) -> str:
    cells = []
    for emo in (*CLASSES, "all"):
        r = s[emo]
        cells.append(f"{emo} {r['label15']}/{r['label30']}/{r['scenes']} q{100 * r['quad15']:.0f} "
                     f"h{100 * r['hold15']:.0f} c{r['changes']:.1f}")
    a = s["all"]
    return f"{name}: " + " | ".join(cells) + f" | rest {100 * a['rest_neutral']:.1f}% changes {a['rest_changes']}"


#: what the nested leave-one-performer-out chooses among: the label's sensitivity x the naming's C
NAMING_GRID = [(s, c) for s in (2.0, 2.5, 3.0, 3.5) for c in (0.3, 1.0)]


def naming_lopo(observed: Scenes, cfg: MoodConfig) -> None:
    """Per held-out performer: the naming fitted on the other seven's photos, (label_sensitivity, C)
    chosen by ``objective`` on the other seven's scenes (each scored with a map fitted without
    it and without the held-out one), then the held-out performer's scenes scored."""
    import fit_mood_naming as fmn

    from moodshuffle.estimate.naming import DepartureNaming

    data = fmn.readings()
    performers = sorted({p for p, _ in observed})

    @functools.cache  # each map is fitted once, whatever the sensitivities scored with it
    def naming(without: frozenset[str], c: float) -> DepartureNaming:
        return fmn.fit(*fmn.departures(data, set(performers) - without)[:2], c)

    def scored(sens: float, c: float, who: str, without: set[str]) -> dict[tuple[str, str], dict[str, float | None]]:
        mood_cfg = dataclasses.replace(cfg, label_sensitivity=sens)
        named = naming(frozenset(without | {who}), c)
        return measure(observed, lambda: MoodEstimator(mood_cfg, named), {who})

    for sens, c in NAMING_GRID:  # each setting alone, every performer scored with a map fitted without it
        held = {k: v for who in performers for k, v in scored(sens, c, who, set()).items()}
        print(table(f"naming fitted without the scored performer, label_sensitivity {sens}, C {c}", summarise(held)),
              flush=True)
    held, picks = {}, []
    for out in performers:
        inner = [p for p in performers if p != out]
        best = max(NAMING_GRID, key=lambda sc: objective(summarise(
            {k: v for who in inner for k, v in scored(sc[0], sc[1], who, {out}).items()})))
        picks.append(best)
        held.update(scored(best[0], best[1], out, set()))
    print(table(f"naming, nested LOPO (picks {picks})", summarise(held)), flush=True)


def main() -> None:
    import label_designs

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--designs", nargs="*", default=None, help="names of label_designs.DESIGNS (default all)")
    parser.add_argument("--lopo", action="store_true", help="leave-one-performer-out for the tuned designs")
    parser.add_argument("--per-scene", action="store_true")
    parser.add_argument("--naming", action="store_true", help="the departure naming, nested leave-one-performer-out")
    args = parser.parse_args()
    observed = observe()
    cfg = MoodConfig()
    print("cells: label within 15 s / within 30 s / scenes, q: last 15 s in quadrant %, h: last 15 s labelled %, "
          "c: label changes per scene after the rest")
    for name, make in label_designs.designs(cfg).items():
        if args.designs and name not in args.designs:
            continue
        scored = measure(observed, make)
        print(table(name, summarise(scored)), flush=True)
        if args.per_scene:
            for key, r in scored.items():
                print("   ", key, r)
    if args.naming:
        naming_lopo(observed, cfg)
    if args.lopo:
        performers = sorted({p for p, _ in observed})
        for name, grid in label_designs.tuned(cfg).items():
            held: dict[tuple[str, str], dict[str, float | None]] = {}
            picks = []
            for out in performers:
                train = set(performers) - {out}
                best = max(grid, key=lambda k: objective(summarise(measure(observed, grid[k], train))))
                picks.append(best)
                held.update(measure(observed, grid[best], {out}))
            print(table(f"{name} (LOPO, picks {picks})", summarise(held)), flush=True)


if __name__ == "__main__":
    main()
