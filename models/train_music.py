"""Build ``models/music_emotion.tflite``: musicnn (MSD) as a frozen feature extractor + our
quadrant head, in one TFLite graph.

    .venv/bin/pip install -e '.[train]' && .venv/bin/pip install --no-deps musicnn==0.1.0
    TF_USE_LEGACY_KERAS=1 nice .venv/bin/python models/train_music.py --work /work/ckpt/music

Steps (each cached in ``--work``): (1) build the graph [power spectrogram patches -> mel
filterbank -> log10(10000 mel + 1) -> musicnn tagger(s) up to their 200-d penultimate layers],
restore the checkpoints shipped in the musicnn wheel, and extract the penultimate
features of the 720 clips of ``../shared/data/music-4q`` with the daemon's own windowing
(``moodshuffle.library.analysis``); (2) fit a logistic-regression head on the mean and
standard deviation of the patches' features, choosing its regularisation by artist-grouped
5-fold cross-validation on the training part; (3) append pooling + standardisation + head to
the graph and convert it to TFLite; then measure it on the artist-disjoint validation part.

musicnn: Copyright (c) 2019 Jordi Pons, ISC licence. librosa's mel filterbank is used only
here, at build time; it is baked into the graph.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "daemon"))
DATA = REPO.parent / "shared" / "data" / "music-4q"
SEED = 7
QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
VAL_SHARE = 0.2


def load_labels() -> list[dict[str, str]]:
    with open(DATA / "labels.csv", newline="") as f:
        return list(csv.DictReader(f))


def split_artists(rows: list[dict[str, str]]) -> np.ndarray:
    """True for the validation part: a seeded 20% of the artists (artist-disjoint)."""
    artists = sorted({r["artist"] for r in rows})
    rng = np.random.default_rng(SEED)
    val = set(rng.choice(artists, int(round(VAL_SHARE * len(artists))), replace=False))
    return np.array([r["artist"] in val for r in rows])


def build_graph(tf, k: int, head: dict | None = None, backbones: tuple[str, ...] = ("MSD",)):
    """The TF1 graph; returns (session, input, features, probs-or-None). ``features`` is the
    per-patch concatenation of the penultimate layers of the musicnn ``backbones``."""
    import librosa
    from musicnn import models

    from moodshuffle.library.analysis import N_FFT, PATCH_FRAMES, SAMPLE_RATE

    tf.compat.v1.reset_default_graph()
    mel = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=96).T.astype(np.float32)  # (257, 96)
    x = tf.compat.v1.placeholder(tf.float32, [k, PATCH_FRAMES, N_FFT // 2 + 1], name="power_spectrogram")
    melspec = tf.tensordot(x, tf.constant(mel), axes=[[2], [0]])
    logmel = tf.math.log(10000.0 * melspec + 1.0) / np.log(10.0)
    penultimates, savers = [], []
    for name in backbones:
        with tf.compat.v1.variable_scope(name.lower()):
            outs = models.define_model(logmel, False, f"{name}_musicnn", 50)
        penultimates.append(outs[-1])
        scoped = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES, scope=name.lower() + "/")
        # the checkpoints name the variables without our scope
        savers.append((tf.compat.v1.train.Saver({v.op.name.split("/", 1)[1]: v for v in scoped}), name))
    features = tf.concat(penultimates, axis=1)
    sess = tf.compat.v1.Session()
    sess.run(tf.compat.v1.global_variables_initializer())
    for saver, name in savers:
        saver.restore(sess, str(Path(models.__file__).parent / f"{name}_musicnn") + "/")
    probs = None
    if head is not None:
        mean = tf.reduce_mean(features, axis=0, keepdims=True)
        std = tf.sqrt(tf.reduce_mean(tf.square(features - mean), axis=0, keepdims=True) + 1e-8)
        pooled = tf.concat([mean, std], axis=1)
        z = (pooled - tf.constant(head["mu"][None, :])) / tf.constant(head["sigma"][None, :])
        logits = tf.matmul(z, tf.constant(head["coef"].T)) + tf.constant(head["intercept"][None, :])
        probs = tf.nn.softmax(logits, name="quadrant_probs")
    return sess, x, features, probs


def extract(args, tf) -> None:
    from moodshuffle.library.analysis import PATCHES, SAMPLE_RATE, WINDOW_S, model_patches, power_spectrogram
    from moodshuffle.library.decode import decode_windows

    rows = load_labels()
    out = Path(args.work) / f"features_{'_'.join(args.backbones)}.npz"
    sess, x, penultimate, _ = build_graph(tf, PATCHES, backbones=tuple(args.backbones))
    feats = np.zeros((len(rows), PATCHES, 200 * len(args.backbones)), np.float32)
    t0 = time.time()
    for i, row in enumerate(rows):
        windows = decode_windows(DATA / row["file"], SAMPLE_RATE, WINDOW_S, PATCHES)
        patches = model_patches([power_spectrogram(w) for w in windows])
        feats[i] = sess.run(penultimate, {x: patches})
        if i % 50 == 0:
            print(f"{i}/{len(rows)} {time.time() - t0:.0f}s", flush=True)
    np.savez(out, feats=feats, files=np.array([r["file"] for r in rows]))
    print(f"features: {out} ({time.time() - t0:.0f}s)", flush=True)


def pool(feats: np.ndarray) -> np.ndarray:
    return np.concatenate([feats.mean(1), feats.std(1)], axis=1)


def metrics(y: np.ndarray, pred: np.ndarray) -> dict:
    from sklearn.metrics import f1_score

    recall = {q: round(float((pred[y == i] == i).mean()), 4) for i, q in enumerate(QUADRANTS)}
    return {"n": int(len(y)), "accuracy": round(float((pred == y).mean()), 4),
            "macro_f1": round(float(f1_score(y, pred, average="macro")), 4), "per_class_recall": recall}


def fit(args) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    rows = load_labels()
    data = np.load(Path(args.work) / f"features_{'_'.join(args.backbones)}.npz")
    X = pool(data["feats"])
    y = np.array([QUADRANTS.index(r["quadrant"]) for r in rows])
    groups = np.array([r["artist"] for r in rows])
    val = split_artists(rows)
    Xt, yt, gt = X[~val], y[~val], groups[~val]
    mu, sigma = Xt.mean(0), Xt.std(0) + 1e-6

    best = None
    for c in (0.003, 0.01, 0.03, 0.1, 0.3, 1.0):
        preds = np.zeros_like(yt)
        for tr, te in GroupKFold(5).split(Xt, yt, gt):
            m_tr, s_tr = Xt[tr].mean(0), Xt[tr].std(0) + 1e-6
            clf = LogisticRegression(C=c, max_iter=5000).fit((Xt[tr] - m_tr) / s_tr, yt[tr])
            preds[te] = clf.predict((Xt[te] - m_tr) / s_tr)
        acc = float((preds == yt).mean())
        print(f"C={c}: artist-grouped 5-fold CV accuracy on the training part {acc:.4f}", flush=True)
        if best is None or acc > best[0]:
            best = (acc, c, metrics(yt, preds))
    cv_acc, c, cv_metrics = best
    clf = LogisticRegression(C=c, max_iter=5000).fit((Xt - mu) / sigma, yt)
    val_pred = clf.predict((X[val] - mu) / sigma)
    result = {"C": c, "cv_train_part": cv_metrics, "validation_float": metrics(y[val], val_pred),
              "n_train": int((~val).sum()), "n_val": int(val.sum()),
              "val_artists": sorted(set(groups[val]))}
    print(json.dumps({k: v for k, v in result.items() if k != "val_artists"}), flush=True)
    head = {"mu": mu.astype(np.float32), "sigma": sigma.astype(np.float32),
            "coef": clf.coef_.astype(np.float32), "intercept": clf.intercept_.astype(np.float32)}
    np.savez(Path(args.work) / "head.npz", **head)
    (Path(args.work) / "fit.json").write_text(json.dumps(result, indent=1))
    # the validation part as an eval folder: labels.csv with paths relative to the 4Q folder
    val_dir = Path(args.work) / "val"
    val_dir.mkdir(exist_ok=True)
    with open(val_dir / "labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "quadrant"])
        for r, v in zip(rows, val, strict=True):
            if v:
                w.writerow([str(DATA / r["file"]), r["quadrant"]])
    return head


def export(args, tf, head: dict) -> None:
    from moodshuffle.library.analysis import PATCHES

    sess, x, _, probs = build_graph(tf, PATCHES, head, tuple(args.backbones))
    converter = tf.compat.v1.lite.TFLiteConverter.from_session(sess, [x], [probs])
    if args.quantize == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # int8 weights, float activations
    elif args.quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # float16 weights, float32 compute
        converter.target_spec.supported_types = [tf.float16]
    blob = converter.convert()
    out = Path(args.out)
    out.write_bytes(blob)
    print(f"wrote {out} ({len(blob) / 1024:.0f} KiB, {args.quantize})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="/tmp/moodshuffle-music")
    parser.add_argument("--out", default=str(REPO / "models" / "music_emotion.tflite"))
    # int8 weights (dynamic) cost 11 points of validation accuracy (69.2% -> 58.3%), float16 nothing
    parser.add_argument("--backbones", nargs="+", choices=("MSD", "MTT"), default=["MSD", "MTT"],
                        help="musicnn taggers whose penultimate features feed the head")
    parser.add_argument("--quantize", choices=("dynamic", "float16", "none"), default="float16")
    args = parser.parse_args()
    Path(args.work).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    if not (Path(args.work) / f"features_{'_'.join(args.backbones)}.npz").exists():
        extract(args, tf)
    head = fit(args)
    export(args, tf, head)


if __name__ == "__main__":
    main()
