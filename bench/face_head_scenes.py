"""Study: the posed mood scenes with the expression model's last layer adapted to posed faces,
every performer read by a layer fitted without them.

    .venv/bin/python bench/face_head_scenes.py [--heads 0.5:0.01 0.8:0.01]

``bench/face_head_study.py`` fits the layer (its cache of pooled features must exist). Here the
scene videos of ``bench/sweep_label.py`` are read once by the shipped camera path (detector,
crop, tuning), keeping each found face's 48x48 crop; every candidate layer then reads the crops
with the float network (four views, as the shipped graph), the tuning's neutral correction is
applied, and the scenes are replayed through the shipped mood estimator. For the scored
performer the layer and the departure naming are both fitted without them (the naming on the
other seven performers' photos read by that layer), as ``sweep_label.py --naming`` does for the
naming alone. The shipped layer is read the same way (float), so the rows pair.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import pickle
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "daemon"))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "models"))

import numpy as np  # noqa: E402
from face_head_study import CACHE, CHECKPOINT, FloatHead, features, fit, probs  # noqa: E402
from sweep_label import measure, scene_videos, summarise, table  # noqa: E402

from moodshuffle.config import MoodConfig, load_config  # noqa: E402
from moodshuffle.domain.observations import FaceObservation  # noqa: E402
from moodshuffle.estimate.mood import MoodEstimator  # noqa: E402
from moodshuffle.evaluation.mood import sample_video  # noqa: E402
from moodshuffle.perceive.faces import FaceAnalyzer  # noqa: E402

#: (performer, emotion) -> [(t, [(48x48 crop, confidence, face_px)])]
Crops = dict[tuple[str, str], list[tuple[float, list[tuple[np.ndarray, float, int]]]]]


class _Recorder:
    """Stands in for the expression model and keeps the faces it is shown."""

    def __init__(self, model) -> None:
        self.model = model
        self.seen: list[np.ndarray] = []

    def predict(self, faces: np.ndarray) -> np.ndarray:
        self.seen = list(np.asarray(faces))
        return self.model.predict(faces)


def scene_crops() -> Crops:
    path = CACHE / "scene-crops.pkl"
    if path.is_file():
        out: Crops = pickle.loads(path.read_bytes())
        return out
    cfg = load_config(None)
    analyzer = FaceAnalyzer(cfg.camera, cfg.models)
    rec = _Recorder(analyzer.expression)
    analyzer.expression = rec  # type: ignore[assignment]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, vid in scene_videos(Path(tmp)):
            samples = []
            for t, frame in sample_video(vid, cfg.camera.interval_s):
                rec.seen = []
                obs = analyzer.analyze(frame, t)
                samples.append((t, [(c, o.confidence, o.face_px) for c, o in zip(rec.seen, obs, strict=True)]))
            out[key] = samples
            print(f"observed {key[0]}-{key[1]}", file=sys.stderr, flush=True)
    path.write_bytes(pickle.dumps(out))
    return out


def main() -> None:
    import fit_mood_naming as fmn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--heads", nargs="*", default=["0.5:0.01", "0.8:0.01"],
                        help="share:lambda[:neutral bias] of each candidate (bias: the tuning's by default)")
    args = parser.parse_args()
    d = features(str(CHECKPOINT))
    crops = scene_crops()
    cfg = load_config(None)
    from moodshuffle.perceive.tuning import FaceTuning

    shipped_tuning = FaceTuning.load(Path(cfg.models.face_tuning))
    net = FloatHead()
    # every crop's features once
    flat = [c for samples in crops.values() for _, faces in samples for c, _, _ in faces]
    feats = net.features(np.stack(flat))
    index = iter(range(len(flat)))
    where = {key: [[next(index) for _ in faces] for _, faces in samples] for key, samples in crops.items()}
    pf, py, pw = d["posed_f"], d["posed_y"], d["posed_who"]
    performers = sorted(set(pw))
    emotions = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    train = (d["train_f"], d["train_y"])

    def layer(spec: str, without: str | None) -> tuple[np.ndarray, np.ndarray]:
        if spec == "shipped":
            return d["w0"], d["b0"]
        share, lam = (float(v) for v in spec.split(":")[:2])
        m = pw != without
        return fit([(train[0], train[1], 1 - share), (pf[m], py[m], share)], d["w0"], d["b0"], lam)

    for spec in ["shipped", *args.heads]:
        bias = spec.split(":")[2:]
        tuning = dataclasses.replace(shipped_tuning, neutral_bias=float(bias[0])) if bias else shipped_tuning
        scored = {}
        for who in performers:
            w, b = layer(spec, who)
            readings = [(p, emotions[y], r) for p, y, r in zip(pw, py, tuning.apply(probs(pf, w, b)), strict=True)
                        if p != who]
            naming = fmn.fit(*fmn.departures(readings, set(performers) - {who})[:2], fmn.DEFAULT_C)
            observed = collections.defaultdict(list)
            for key, samples in crops.items():
                if key[0] != who:
                    continue
                for (t, faces), idx in zip(samples, where[key], strict=True):
                    p = tuning.apply(probs(feats[idx], w, b)) if idx else np.zeros((0, 7))
                    observed[key].append((t, [FaceObservation(p[i].astype(np.float32), conf, px, t)
                                              for i, (_, conf, px) in enumerate(faces)]))
            scored.update(measure(dict(observed), lambda n=naming: MoodEstimator(MoodConfig(), n), {who}))
        print(table(f"layer {spec}, layer and naming fitted without the scored performer", summarise(scored)),
              flush=True)


if __name__ == "__main__":
    main()
