"""Fit the mood's departure naming (``models/mood_naming.json``) on the posed photos.

    .venv/bin/python models/fit_mood_naming.py [--c 1.0] [--write]

For every photo of ``../shared/data/faces/posed`` the shipped camera path reads the face as the
daemon reads it in a mood scene (the photo scaled to 400 px on grey 640x480, the face detector,
the crop and the neutral correction of ``models/face_tuning.json``); its departure is that
reading minus the mean reading of its performer's neutral photos, the rest the mood estimator
learns for that person. A multinomial logistic regression (L2, strength ``1/C``, classes
weighted to balance) maps ``departure_shape`` (the departure's positive part, normalised) to
the six expressions. It prints the leave-one-performer-out accuracy of the map per photo beside
the departure's own largest class, then, with ``--write``, fits on all eight performers and
writes the file with the checksums of the expression model and the tuning file (the daemon
warns when either changed since). The label it gives in mood scenes is measured by
``bench/sweep_label.py`` (leave one performer out, the map fitted on the other seven).
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import json
import pickle
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "daemon"))

from moodshuffle.domain.emotions import EMOTIONS, INDEX  # noqa: E402
from moodshuffle.estimate.naming import NAMED, DepartureNaming, departure_shape  # noqa: E402
from moodshuffle.model_json import file_sha256  # noqa: E402

POSED = REPO.parent / "shared" / "data" / "faces" / "posed"
CACHE = Path.home() / ".cache" / "moodshuffle-mood"
OUT = REPO / "models" / "mood_naming.json"
#: chosen by bench/sweep_label.py (leave one performer out over 0.3 and 1; models/face_emotion.md)
DEFAULT_C = 1.0

#: (performer, emotion, reading over EMOTIONS) per posed photo whose face was found
Readings = list[tuple[str, str, np.ndarray]]


def canvas(path: Path) -> np.ndarray:
    """The photo as a mood scene shows it: scaled to 400 px on its long side, centred on grey 640x480."""
    import cv2

    img = cv2.imread(str(path))
    h, w = img.shape[:2]
    s = 400 / max(h, w)
    img = cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
    c = np.full((480, 640, 3), 110, np.uint8)
    y, x = (480 - img.shape[0]) // 2, (640 - img.shape[1]) // 2
    c[y:y + img.shape[0], x:x + img.shape[1]] = img
    return c


def _sha(path: Path | None) -> str | None:
    return file_sha256(path) if path is not None else None


def readings() -> Readings:
    """The shipped camera path's reading of the largest face of each posed photo, cached (keyed by
    the expression model and the tuning file)."""
    from moodshuffle.config import load_config
    from moodshuffle.perceive.faces import FaceAnalyzer

    cfg = load_config(None)
    tuning = Path(cfg.models.face_tuning) if cfg.models.face_tuning else None
    key = hashlib.sha256(f"{_sha(Path(cfg.models.face_expression))}{_sha(tuning)}".encode()).hexdigest()[:16]
    cache = CACHE / f"posed-readings-{key}.pkl"
    if cache.is_file():
        cached: Readings = pickle.loads(cache.read_bytes())
        return cached
    analyzer = FaceAnalyzer(cfg.camera, cfg.models)
    out: Readings = []
    with open(POSED / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            faces = analyzer.analyze(canvas(POSED / row["file"]), 0.0)
            if faces:
                face = max(faces, key=lambda o: o.confidence)
                out.append((row["performer"], row["emotion"], np.asarray(face.probs, np.float64)))
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(out))
    return out


def departures(data: Readings, performers: set[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, 7) departures from each performer's mean neutral reading, (N,) labels as indices into
    NAMED, (N,) performers: every non-neutral photo of ``performers``."""
    rest: dict[str, list[np.ndarray]] = collections.defaultdict(list)
    for perf, emo, probs in data:
        if emo == "neutral" and perf in performers:
            rest[perf].append(probs)
    x, y, who = [], [], []
    for perf, emo, probs in data:
        if emo != "neutral" and perf in rest:
            x.append(probs - np.mean(rest[perf], axis=0))
            y.append(NAMED.index(INDEX[emo]))
            who.append(perf)
    return np.array(x), np.array(y), np.array(who)


def fit(x: np.ndarray, y: np.ndarray, c: float = DEFAULT_C) -> DepartureNaming:
    """Multinomial logistic regression of ``departure_shape(x)`` on ``y`` (indices into NAMED):
    minimises ``c * sum_i w_i * cross-entropy_i + ||W||^2 / 2`` (bias unpenalised), each class
    weighted ``n / (k * n_class)`` (scikit-learn's balanced LogisticRegression)."""
    from scipy.optimize import minimize

    feats = departure_shape(x)
    k, d = len(NAMED), feats.shape[1]
    counts = np.bincount(y, minlength=k).astype(np.float64)
    w = (len(y) / (k * np.maximum(counts, 1)))[y]
    onehot = np.eye(k)[y]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = theta[: k * d].reshape(k, d), theta[k * d:]
        z = feats @ weights.T + bias
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        value = -c * float((w * (onehot * logp).sum(1)).sum()) + 0.5 * float((weights ** 2).sum())
        g = c * w[:, None] * (np.exp(logp) - onehot)
        grad = np.concatenate([(g.T @ feats + weights).ravel(), g.sum(0)])
        return value, grad

    theta = minimize(loss, np.zeros(k * d + k), jac=True, method="L-BFGS-B", options={"maxiter": 5000}).x
    return DepartureNaming(theta[: k * d].reshape(k, d), theta[k * d:])


def recall(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {EMOTIONS[NAMED[i]].value: round(float((pred[y == i] == i).mean()), 3) for i in range(len(NAMED))}


def lopo(data: Readings, c: float) -> dict[str, object]:
    """Per photo, leave one performer out: the map fitted on the others against the departure's
    own largest non-neutral class."""
    performers = sorted({p for p, _, _ in data})
    x, y, who = departures(data, set(performers))
    mapped = np.zeros_like(y)
    for out in performers:
        naming = fit(*departures(data, set(performers) - {out})[:2], c)
        mapped[who == out] = [int(np.argmax(naming.shares(d))) for d in x[who == out]]
    largest = np.argmax(x[:, list(NAMED)], axis=1)
    per = [float((mapped[who == p] == y[who == p]).mean()) for p in performers]
    return {"photos": len(y), "performers": len(performers), "C": c,
            "map_accuracy": round(float((mapped == y).mean()), 3),
            "map_accuracy_sd_over_performers": round(float(np.std(per)), 3),
            "map_recall": recall(y, mapped),
            "largest_class_accuracy": round(float((largest == y).mean()), 3),
            "largest_class_recall": recall(y, largest)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--c", type=float, default=DEFAULT_C, help="inverse L2 strength")
    parser.add_argument("--write", action="store_true", help=f"fit on all performers and write {OUT.name}")
    args = parser.parse_args()
    from moodshuffle.config import load_config

    data = readings()
    report = lopo(data, args.c)
    print(json.dumps(report), flush=True)
    if args.write:
        cfg = load_config(None)
        performers = {p for p, _, _ in data}
        tuning = Path(cfg.models.face_tuning) if cfg.models.face_tuning else None
        fitted = fit(*departures(data, performers)[:2], args.c)
        naming = DepartureNaming(fitted.weights, fitted.bias, _sha(Path(cfg.models.face_expression)), _sha(tuning))
        OUT.write_text(naming.to_json(
            fitted_on=f"faces/posed: {report['photos']} photos of {len(performers)} performers, the departure "
                      "from each performer's mean neutral reading",
            C=args.c, chosen_by="bench/sweep_label.py (mood scenes, leave one performer out)",
            lopo_per_photo=report) + "\n")
        print(f"wrote {OUT}", flush=True)


if __name__ == "__main__":
    main()
