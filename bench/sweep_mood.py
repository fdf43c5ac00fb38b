"""Choose the mood estimator's design and defaults by measurement on real frames.

    .venv/bin/python bench/sweep_mood.py [--interval 2] [--write DIR] [--set key=value ...]

Scenes (``moodshuffle.evaluation.scenes``, real photos and video frames):
  * nsh/<who>: 20 s at rest, 30 s sad, 30 s laughing (the issue's 80 s), for each posed
    performer in ``faces/posed`` (8) and each Yale subject with all three photos (14);
  * rest/<who>: the same people 3 minutes at rest (a resting face read as mildly negative
    must not become the mood);
  * smile: ``single_face.mp4``'s brief smile after a minute of its resting face, then rest;
  * absent/<who>: 30 s laughing, then 2 minutes of ``no_face.mp4`` (nobody seen);
  * wolfgang: the reference video at a third of its speed (28 s crying, 28 s laughing);
  * room: three posed performers side by side: rest, one of them laughing, all three sad.

The camera path runs once per scene at 0.5 s steps (observations cached under
~/.cache/moodshuffle-mood, keyed by the checksums of the models and models/face_tuning.json,
read without the neutral correction, which ``--neutral-bias`` applies afterwards, default the
tuning file's); every variant then replays the
cached observations at ``--interval`` through a MoodEstimator. ``--set`` changes mood
settings of the shipped defaults (e.g. ``--set half_life_s=8``); without it, a built-in grid
around the defaults is measured. ``--write DIR`` also writes every scene as an mp4 with its
segments CSV, for ``moodshuffle eval mood``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import hashlib
import itertools
import os
import pickle
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "daemon"))

import numpy as np  # noqa: E402

from moodshuffle.config import Config, MoodConfig, load_config  # noqa: E402
from moodshuffle.domain.mood import MoodState  # noqa: E402
from moodshuffle.domain.observations import FaceObservation  # noqa: E402
from moodshuffle.estimate import mood  # noqa: E402
from moodshuffle.estimate.mood import MoodEstimator  # noqa: E402
from moodshuffle.evaluation import scenes  # noqa: E402
from moodshuffle.evaluation.mood import fold_observed  # noqa: E402
from moodshuffle.evaluation.mood_score import (  # noqa: E402
    TimelinePoint,
    label_changes,
    score_segments,
)
from moodshuffle.perceive.faces import FaceAnalyzer  # noqa: E402
from moodshuffle.perceive.tuning import FaceTuning, fuse  # noqa: E402

FACES = SHARED / "faces"
STEP_S = 0.5
CACHE = Path.home() / ".cache" / "moodshuffle-mood"


def _people() -> dict[str, dict[str, list[Path]]]:
    """who -> emotion -> photos, for everyone with neutral, sad and happy photos."""
    people: dict[str, dict[str, list[Path]]] = {}
    with open(FACES / "posed" / "labels.csv", newline="") as f:
        for r in csv.DictReader(f):
            people.setdefault(f"posed{r['performer']}", {}).setdefault(r["emotion"], []).append(
                FACES / "posed" / r["file"])
    with open(FACES / "labels.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["subject"].startswith("subject"):
                people.setdefault(f"yale{r['subject'][7:]}", {}).setdefault(r["emotion"], []).append(FACES / r["file"])
    return {k: v for k, v in sorted(people.items()) if {"neutral", "sad", "happy"} <= set(v)}


def build_scenes() -> dict[str, list[scenes.Part]]:
    P = scenes.Part
    out: dict[str, list[scenes.Part]] = {}
    people = _people()
    photos = {who: {e: scenes.load(p) for e, p in v.items()} for who, v in people.items()}
    for who, ph in photos.items():
        out[f"nsh/{who}"] = [P(ph["neutral"], 20, "neutral"), P(ph["sad"], 30, "sad"), P(ph["happy"], 30, "happy")]
        out[f"rest/{who}"] = [P(ph["neutral"], 180, "neutral")]
    single = scenes.video_frames(FACES / "media" / "single_face.mp4")
    out["smile"] = [P(single[:18], 60, "neutral", clip_fps=30), P(single, len(single) / 30, None, clip_fps=30),
                    P(single[:18], 40, "neutral", clip_fps=30)]
    nobody = scenes.video_frames(FACES / "media" / "no_face.mp4")
    for who in ("posed03", "yale05"):
        out[f"absent/{who}"] = [P(photos[who]["happy"], 30, "happy"), P(nobody, 120, None, clip_fps=24)]
    wolf = scenes.video_frames(FACES / "media" / "WolfgangLanger_Pexels.mp4")
    fps = 23.976 / 3
    out["wolfgang"] = [P(wolf[: int(9.5 * 23.976)], 9.5 * 3, "sad", clip_fps=fps),
                       P(wolf[int(9.5 * 23.976) : int(10.5 * 23.976)], 3, None, clip_fps=fps),
                       P(wolf[int(10.5 * 23.976) :], 9.2 * 3, "happy", clip_fps=fps)]
    a, b, c = (photos[w] for w in ("posed03", "posed05", "posed07"))
    out["room"] = [P(scenes.side_by_side(a["neutral"], b["neutral"], c["neutral"]), 20, "neutral"),
                   P(scenes.side_by_side(a["neutral"], b["happy"], c["neutral"]), 30, "happy"),
                   P(scenes.side_by_side(a["sad"], b["sad"], c["sad"]), 30, "sad")]
    return out


Observed = list[tuple[float, list[FaceObservation]]]


def _cache_key(cfg: Config) -> str:
    """Everything the camera path's reading depends on: the detector, the expression model and
    the tuning file (crop, geometry head; its neutral_bias is left out below, see
    observe_scenes), and the face mesh when the tuning fuses geometry. A key of the models
    alone silently reused observations taken with another crop."""
    files = [cfg.models.face_detector, cfg.models.face_expression]
    if cfg.models.face_tuning:
        files.append(cfg.models.face_tuning)
        if FaceTuning.load(Path(cfg.models.face_tuning)).uses_geometry:
            files.append(cfg.models.face_landmarks)
    return hashlib.sha256(b"".join(Path(p).read_bytes() for p in files)).hexdigest()[:12]


def observe_scenes(built: dict[str, list[scenes.Part]]) -> dict[str, Observed]:
    """The camera path over every scene at STEP_S, cached (``_cache_key``). The observations
    are taken with the tuning's neutral correction off, so that ``with_neutral_bias`` can
    replay them at any bias without running the camera path again."""
    cfg = load_config(None)
    path = CACHE / f"scenes-{_cache_key(cfg)}-bias0.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    tuning = FaceTuning.load(Path(cfg.models.face_tuning)) if cfg.models.face_tuning else FaceTuning()
    analyzer = FaceAnalyzer(cfg.camera, cfg.models, dataclasses.replace(tuning, neutral_bias=0.0))
    out = {name: [(t, analyzer.analyze(frame, t)) for t, frame in scenes.frames(parts, 1 / STEP_S, seed=i)]
           for i, (name, parts) in enumerate(built.items())}
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


def with_neutral_bias(observed: dict[str, Observed], bias: float) -> dict[str, Observed]:
    """The observations as the camera path reads them with ``neutral_bias`` = ``bias``: the
    correction is the last step of the reading (a shift of log p(neutral), then renormalising),
    so applying it to probabilities read without it gives the same result."""
    def shift(o: FaceObservation) -> FaceObservation:
        return dataclasses.replace(o, probs=fuse(np.log(np.maximum(o.probs[None], 1e-6)),
                                                 np.zeros((1, len(o.probs))), 0.0, bias)[0])
    return {name: [(t, [shift(o) for o in faces]) for t, faces in obs] for name, obs in observed.items()}


def run(observed: Observed, make: Callable[[], MoodEstimator], interval: float) -> list[TimelinePoint]:
    stride = max(1, round(interval / STEP_S))
    return fold_observed(observed[::stride], make())


def measure(built: dict[str, list[scenes.Part]], observed: dict[str, Observed], make: Callable[[], MoodEstimator],
            interval: float) -> dict[str, float]:
    """The figures the issue's targets name, over all scenes."""
    happy_delay, sad_shown, sad_share, changes, rest_share, rest_min = [], [], [], [], [], []
    r: dict[str, float] = {}
    for name, obs in observed.items():
        timeline = run(obs, make, interval)
        scored = score_segments(timeline, scenes.segments(built[name]))["segments"]
        if name.startswith("nsh/"):
            sad, happy = scored[1], scored[2]
            happy_delay.append(happy["label_delay_s"] if happy["label_delay_s"] is not None else np.inf)
            sad_shown.append(sad["delay_s"] is not None)
            sad_share.append(sad["match_share"])
            changes.append(len(label_changes(timeline)))
        elif name.startswith("rest/"):
            rest_share.append(scored[0]["match_share"])
            rest_min.append(name)
        elif name == "smile":
            r["smile_changes"] = len(label_changes(timeline))
            r["smile_max_abs_valence"] = max(abs(p.valence) for p in timeline)
        elif name.startswith("absent/"):
            v30 = next(p.valence for p in timeline if p.t >= 30 - 1e-9)
            after = [p for p in timeline if p.t >= 30]
            r.setdefault("absent_v10_share", 0.0)
            v10 = next(p.valence for p in after if p.t >= 40)
            r["absent_v10_share"] += v10 / max(v30, 1e-6) / 2
            gone = next((p.t - 30 for p in after if p.label == "neutral"), np.inf)
            r["absent_s_to_neutral"] = max(r.get("absent_s_to_neutral", 0), gone)
            r["absent_monotone"] = min(r.get("absent_monotone", 1), float(all(
                b.valence <= a.valence + 1e-6 for a, b in zip(after, after[1:], strict=False))))
        elif name == "wolfgang":
            r["wolf_sad_share"] = scored[0]["match_share"]
            r["wolf_happy_delay"] = scored[1]["label_delay_s"] if scored[1]["label_delay_s"] is not None else np.inf
            r["wolf_changes"] = len(label_changes(timeline))
        elif name == "room":
            r["room_rest_share"] = scored[0]["match_share"]
            r["room_one_laughs_share"] = scored[1]["match_share"]
            r["room_sad_share"] = scored[2]["match_share"]
    hd = np.array(happy_delay)
    r.update({
        "happy_delay_median": float(np.median(hd)), "happy_delay_max": float(hd.max()),
        "happy_within_15s": float(np.mean(hd <= 15)),
        "sad_shown": float(np.mean(sad_shown)), "sad_share_mean": float(np.mean(sad_share)),
        "changes_max": float(max(changes)), "rest_share_mean": float(np.mean(rest_share)),
        "rest_share_min": float(min(rest_share)),
        "rest_worst": rest_min[int(np.argmin(rest_share))],
    })
    return r


class FixedRest(MoodEstimator):
    """Design without a learnt rest: the mood is the departure from REST_PRIOR."""

    def update(self, now: float) -> MoodState:
        state = super().update(now)
        self._face.rest_sum[:] = 0.0
        self._face.rest_weight = 0.0
        return state


class FacesByExpressiveness(MoodEstimator):
    """Several faces weighted by confidence x (0.25 + distance from rest), not confidence only."""

    def _fold_frame(self, t: float, faces: list[FaceObservation]) -> None:
        rest = self._face.rest()
        super()._fold_frame(t, [dataclasses.replace(f, confidence=f.confidence * (
            0.25 + 0.5 * float(np.abs(f.probs - rest).sum()))) for f in faces])


class FramesByExpressiveness(MoodEstimator):
    """Frames weighted in the expression by (0.25 + distance from rest) / 0.6."""

    def __init__(self, cfg: MoodConfig) -> None:
        super().__init__(cfg)
        channel = self._face
        plain = channel.add

        def add(probs: np.ndarray, weight: float) -> None:
            plain(probs, weight * (0.25 + 0.5 * float(np.abs(probs - channel.rest()).sum())) / 0.6)

        channel.add = add  # type: ignore[method-assign]


@contextlib.contextmanager
def patched(**values: object) -> Iterator[None]:
    """Module attributes of ``moodshuffle.estimate.mood`` (constants, ``restfulness``) replaced
    for the duration."""
    saved = {name: getattr(mood, name) for name in values}
    for name, value in values.items():
        setattr(mood, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(mood, name, value)


#: design -> (estimator class, what it changes in moodshuffle.estimate.mood)
DESIGNS: dict[str, tuple[type[MoodEstimator], dict[str, object]]] = {
    "shipped": (MoodEstimator, {}),
    "no learnt rest": (FixedRest, {}),
    "rest taught by neutral probability": (MoodEstimator, {"restfulness": lambda p: float(p[mood.NEUTRAL])}),
    "rest taught by neutral probability squared": (
        MoodEstimator, {"restfulness": lambda p: float(p[mood.NEUTRAL]) ** 2}),
    "rest taught by every frame": (MoodEstimator, {"restfulness": lambda p: 1.0}),
    "rest taught by neutral probability only (no first sight, no likeness)": (
        MoodEstimator, {"FIRST_SIGHT_WEIGHT": 1e-9, "REST_LIKENESS_L1": 1e-9}),
    "no first sight": (MoodEstimator, {"FIRST_SIGHT_WEIGHT": 1e-9}),
    "no likeness to the rest": (MoodEstimator, {"REST_LIKENESS_L1": 1e-9}),
    "likeness within L1 0.3": (MoodEstimator, {"REST_LIKENESS_L1": 0.3}),
    "likeness within L1 0.9": (MoodEstimator, {"REST_LIKENESS_L1": 0.9}),
    "first sight 1 frame": (MoodEstimator, {"FIRST_SIGHT_WEIGHT": 1.0}),
    "first sight 6 frames": (MoodEstimator, {"FIRST_SIGHT_WEIGHT": 6.0}),
    "full hold when the valence contradicts the label": (MoodEstimator, {"FLIP_HOLD_SHARE": 1.0}),
    "faces weighted by expressiveness": (FacesByExpressiveness, {}),
    "frames weighted by expressiveness": (FramesByExpressiveness, {}),
}


def _parse_sets(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = float(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("--neutral-bias", type=float, default=None,
                        help="the camera path's neutral correction (default: models/face_tuning.json's)")
    parser.add_argument("--set", action="append", default=[], help="mood setting=value (repeatable)")
    parser.add_argument("--grid", action="store_true", help="measure the built-in grid around the defaults")
    parser.add_argument("--designs", action="store_true", help="measure the alternative designs (DESIGNS)")
    args = parser.parse_args()
    built = build_scenes()
    if args.write is not None:
        args.write.mkdir(parents=True, exist_ok=True)
        for i, (name, parts) in enumerate(built.items()):
            scenes.write(parts, args.write / (name.replace("/", "_") + ".mp4"), seed=i)
    observed = observe_scenes(built)
    tuning_file = load_config(None).models.face_tuning
    bias = args.neutral_bias if args.neutral_bias is not None else (
        FaceTuning.load(Path(tuning_file)).neutral_bias if tuning_file else 0.0)
    print(f"neutral_bias {bias}", flush=True)
    observed = with_neutral_bias(observed, bias)
    base = dataclasses.asdict(MoodConfig())
    variants = [_parse_sets(args.set)]
    if args.grid:
        variants = [dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())]
    if args.designs:
        cfg = MoodConfig(**{**base, **_parse_sets(args.set)})
        for name, (cls, changes) in DESIGNS.items():
            with patched(**changes):
                r = measure(built, observed, lambda cls=cls: cls(cfg), args.interval)
            print(name, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}, flush=True)
        return
    for changes in variants:
        cfg = MoodConfig(**{**base, **changes})
        r = measure(built, observed, lambda cfg=cfg: MoodEstimator(cfg), args.interval)
        print(changes or "defaults", {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()},
              flush=True)


#: the grid ``--grid`` measures
GRID: dict[str, list[float]] = {
    "half_life_s": [4.0, 5.0, 6.0, 8.0],
    "hysteresis_hold_s": [4.0, 6.0],
    "sensitivity": [1.5, 2.0, 2.5],
}

if __name__ == "__main__":
    main()
