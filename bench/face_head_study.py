"""Study: adapt the expression model's last layer to posed faces, leave one performer out.

    .venv/bin/python bench/face_head_study.py [--init models/checkpoints/face_emotion.weights.h5]

The float network (``--init``) reads every face in four views (the shipped graph's: as is,
mirrored, zoomed, zoomed and mirrored); the 192 pooled features of each view are cached. The
last layer (7 x 192 weights and 7 biases) is then refitted on FER2013 Training plus the posed
photos of seven performers, pulled towards the shipped layer by an L2 penalty, and scored on the
eighth performer (per photo, the mean of the four views' probabilities, with the tuning's
neutral correction) and on PublicTest. Crops are cut by the shipped camera path from each photo
as a mood scene shows it (``fit_mood_naming.canvas``).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "daemon"))
sys.path.insert(0, str(REPO / "models"))

import numpy as np  # noqa: E402

CACHE = Path("/var/tmp/face-head")
POSED = REPO.parent / "shared" / "data" / "faces" / "posed"
CHECKPOINT = REPO / "models" / "checkpoints" / "face_emotion.weights.h5"
CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def posed_faces() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import cv2  # noqa: F401
    from fit_mood_naming import canvas

    from moodshuffle.config import load_config
    from moodshuffle.domain.emotions import INDEX
    from moodshuffle.perceive.expression import prepare_face
    from moodshuffle.perceive.faces import FaceAnalyzer

    cfg = load_config(None)
    analyzer = FaceAnalyzer(cfg.camera, cfg.models)
    faces, labels, who = [], [], []
    with open(POSED / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            found = analyzer.crops(canvas(POSED / row["file"]))
            if found:
                crop = max(found, key=lambda dc: dc[0].size)[1]
                faces.append(prepare_face(crop))
                labels.append(INDEX[row["emotion"]])
                who.append(row["performer"])
    return np.stack(faces), np.array(labels), np.array(who)


class FloatHead:
    """The float network (``init``) without its last layer: each face's pooled features in the
    shipped graph's four views, and the last layer's weights."""

    def __init__(self, init: Path = CHECKPOINT) -> None:
        import tensorflow as tf
        import train_face as tfm

        model = tfm.build_model(tf, "vgg")
        tfm.load_f16(model, Path(init))
        gap = next(layer for layer in model.layers if isinstance(layer, tf.keras.layers.GlobalAveragePooling2D))
        self.feat = tf.keras.Model(model.input, gap.output)
        w, b = model.get_layer("logits").get_weights()
        self.w0, self.b0 = w.T.astype(np.float64), b.astype(np.float64)
        self.tf, self.crop = tf, tfm.ZOOM_CROP

    def features(self, faces: np.ndarray) -> np.ndarray:
        """(N, 48, 48) faces -> (N, 4, 192) pooled features: as is, mirrored, zoomed, zoomed and mirrored."""
        x = faces.astype(np.float32)[..., None]
        c = self.crop
        z = self.tf.image.resize(x[:, c:48 - c, c:48 - c], (48, 48)).numpy()
        views = (x, x[:, :, ::-1], z, z[:, :, ::-1])
        return np.stack([self.feat.predict(v, batch_size=512, verbose=0) for v in views], 1).astype(np.float32)


def features(init: str) -> dict[str, np.ndarray]:
    key = Path(init).name.replace(".weights.h5", "")
    path = CACHE / f"features-{key}.npz"
    if path.is_file():
        return dict(np.load(path, allow_pickle=False))
    import train_face as tfm

    net = FloatHead(Path(init))
    pf, py, pw = posed_faces()
    xt, yt = tfm.load_split("train")
    xv, yv = tfm.load_split("publictest")
    out = {"posed_f": net.features(pf), "posed_y": py, "posed_who": pw,
           "train_f": net.features(xt[..., 0]), "train_y": yt, "test_f": net.features(xv[..., 0]), "test_y": yv,
           "w0": net.w0, "b0": net.b0}
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def probs(f: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, V, D) features -> (N, 7) mean over views of the softmax."""
    z = f @ w.T + b
    z -= z.max(-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(-1, keepdims=True)
    return p.mean(1)


def decide(p: np.ndarray, neutral_bias: float) -> np.ndarray:
    z = np.log(np.clip(p, 1e-7, 1))
    z[:, 6] -= neutral_bias
    return z.argmax(1)


def fit(parts: list[tuple[np.ndarray, np.ndarray, float]], w0: np.ndarray, b0: np.ndarray,
        lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Minimise sum over parts of share * mean cross-entropy (each view a sample, classes balanced
    within the part) + lam / 2 * ||W - W0||^2, from (W0, b0)."""
    from scipy.optimize import minimize

    k, d = w0.shape
    prepared = []
    for f, y, share in parts:
        x = f.reshape(-1, d).astype(np.float64)
        yy = np.repeat(y, f.shape[1])
        counts = np.bincount(yy, minlength=k).astype(np.float64)
        cw = len(yy) / (k * np.maximum(counts, 1))
        sw = cw[yy]
        sw = share * sw / sw.sum()
        prepared.append((x, np.eye(k)[yy], sw))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:k * d].reshape(k, d), theta[k * d:]
        value = 0.5 * lam * float(((w - w0) ** 2).sum())
        gw, gb = lam * (w - w0), np.zeros(k)
        for x, onehot, sw in prepared:
            z = x @ w.T + b
            z -= z.max(1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(1, keepdims=True))
            value -= float((sw * (onehot * logp).sum(1)).sum())
            g = sw[:, None] * (np.exp(logp) - onehot)
            gw += g.T @ x
            gb += g.sum(0)
        return value, np.concatenate([gw.ravel(), gb])

    theta = minimize(loss, np.concatenate([w0.ravel(), b0]), jac=True, method="L-BFGS-B",
                     options={"maxiter": 500}).x
    return theta[:k * d].reshape(k, d), theta[k * d:]


def recall(pred: np.ndarray, y: np.ndarray) -> str:
    return " ".join(f"{c[:3]} {100 * (pred[y == i] == i).mean():4.1f}" for i, c in enumerate(CLASSES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--init", default=str(CHECKPOINT))
    parser.add_argument("--neutral-bias", type=float, nargs="*", default=[0.0, 0.5])
    args = parser.parse_args()
    d = features(args.init)
    w0, b0 = d["w0"], d["b0"]
    pf, py, pw = d["posed_f"], d["posed_y"], d["posed_who"]
    train = (d["train_f"], d["train_y"])
    test_f, test_y = d["test_f"], d["test_y"]
    performers = sorted(set(pw))
    for nb in args.neutral_bias:
        pred = decide(probs(pf, w0, b0), nb)
        print(f"shipped layer, bias {nb}: posed {100 * (pred == py).mean():.1f}% "
              f"({recall(pred, py)}); PublicTest {100 * (decide(probs(test_f, w0, b0), 0) == test_y).mean():.2f}%")
    for share in (0.2, 0.5, 0.8):
        for lam in (0.01, 0.1, 1.0):
            held = np.zeros((len(py), 7))
            for out in performers:
                m = pw != out
                w, b = fit([(train[0], train[1], 1 - share), (pf[m], py[m], share)], w0, b0, lam)
                held[~m] = probs(pf[~m], w, b)
            w, b = fit([(train[0], train[1], 1 - share), (pf, py, share)], w0, b0, lam)
            pt = 100 * (decide(probs(test_f, w, b), 0) == test_y).mean()
            for nb in args.neutral_bias:
                pred = decide(held, nb)
                per = [100 * (pred[pw == p] == py[pw == p]).mean() for p in performers]
                print(f"share {share} lam {lam} bias {nb}: posed LOPO {100 * (pred == py).mean():.1f}% "
                      f"(+-{np.std(per):.1f} over performers; {recall(pred, py)}); "
                      f"PublicTest (all 8) {pt:.2f}%", flush=True)


if __name__ == "__main__":
    main()
