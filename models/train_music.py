"""Build ``models/music_emotion.tflite``: musicnn taggers (MSD and MTT) as frozen feature
extractors + our quadrant head, in one TFLite graph.

    .venv/bin/pip install -e '.[train]' && .venv/bin/pip install --no-deps musicnn==0.1.0
    TF_USE_LEGACY_KERAS=1 nice .venv/bin/python models/train_music.py --work /var/tmp/music

Steps: (1) build the graph [power spectrogram patches -> Slaney mel filterbank ->
log10(10000 mel + 1) -> musicnn MSD and MTT taggers -> per patch, each tagger's 200-d
penultimate layer and its 50 tag logits], restore the checkpoints shipped in the musicnn
wheel, and extract those features for the 720 clips of ``../shared/data/music-4q`` with the
daemon's own windowing (``moodshuffle.library.analysis``), cached in ``--work``; (2) choose the
logistic-regression head's regularisation by repeated artist-grouped cross-validation
(StratifiedGroupKFold, 5 folds, ``--seeds`` groupings) on the mean and standard deviation of
the patches' features, and print the figures of every candidate (mean and spread over the
groupings); (3) fit the head on all 720 clips, append pooling + standardisation + head to
the graph, convert it to TFLite (float16 weights) with the class order as metadata, and check
that the daemon's own inference code reproduces the head's probabilities.

musicnn: Copyright (c) 2019 Jordi Pons, ISC licence.
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
sys.path.insert(0, str(REPO / "models"))
DATA = REPO.parent / "shared" / "data" / "music-4q"

from moodshuffle.domain.emotions import QUADRANTS  # noqa: E402

TAGGERS = ("MSD_musicnn", "MTT_musicnn")
FOLDS = 5
C_GRID = (0.001, 0.003, 0.01, 0.03)
#: the model's input contract, stored in the .tflite as metadata; the daemon checks the class order at load
CONTRACT = {
    "task": "music emotion quadrants of Russell's plane",
    "input": "(8, 187, 257) power spectrogram patches, 16 kHz mono, 512-point FFT, hop 256 (analysis.py)",
    "classes": list(QUADRANTS),
    "features": "musicnn MSD and MTT: penultimate layer and tag logits per patch; mean and std over patches",
}


def load_labels() -> list[dict[str, str]]:
    with open(DATA / "labels.csv", newline="") as f:
        return list(csv.DictReader(f))


def slaney_mel(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) mel filterbank, the same as librosa.filters.mel(...).T
    (Slaney's mel scale and area normalisation, musicnn's training front end)."""
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0

    def hz_to_mel(f: float) -> float:
        return min_log_mel + np.log(f / min_log_hz) / logstep if f >= min_log_hz else f / f_sp

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fft = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft[None, :]
    weights = np.maximum(0, np.minimum(-ramps[:-2] / fdiff[:-1, None], ramps[2:] / fdiff[1:, None]))
    return (weights * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]).T.astype(np.float32)


def build_graph(tf, k: int, head: dict | None = None):
    """The TF1 graph; returns (session, input, per-patch features (k, 500), probs-or-None).
    Per patch and tagger (TAGGERS order): the 200-d penultimate layer, then the 50 tag logits."""
    from musicnn import models

    from moodshuffle.library.analysis import N_FFT, PATCH_FRAMES, SAMPLE_RATE

    tf.compat.v1.reset_default_graph()
    mel = slaney_mel(SAMPLE_RATE, N_FFT, 96)
    x = tf.compat.v1.placeholder(tf.float32, [k, PATCH_FRAMES, N_FFT // 2 + 1], name="power_spectrogram")
    melspec = tf.tensordot(x, tf.constant(mel), axes=[[2], [0]])
    logmel = tf.math.log(10000.0 * melspec + 1.0) / np.log(10.0)
    parts, savers = [], []
    for name in TAGGERS:
        scope = name.split("_")[0].lower()
        with tf.compat.v1.variable_scope(scope):
            outs = models.define_model(logmel, False, name, 50)
        parts += [outs[-1], outs[0]]  # penultimate, logits
        scoped = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES, scope=scope + "/")
        # the checkpoints name the variables without our scope
        savers.append((tf.compat.v1.train.Saver({v.op.name.split("/", 1)[1]: v for v in scoped}), name))
    features = tf.concat(parts, axis=1)
    sess = tf.compat.v1.Session(config=tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1,
                                                                 inter_op_parallelism_threads=1))
    sess.run(tf.compat.v1.global_variables_initializer())
    for saver, name in savers:
        saver.restore(sess, str(Path(models.__file__).parent / name) + "/")
    probs = None
    if head is not None:
        mean = tf.reduce_mean(features, axis=0, keepdims=True)
        std = tf.sqrt(tf.reduce_mean(tf.square(features - mean), axis=0, keepdims=True) + 1e-8)
        pooled = tf.concat([mean, std], axis=1)
        z = (pooled - tf.constant(head["mu"][None, :])) / tf.constant(head["sigma"][None, :])
        logits = tf.matmul(z, tf.constant(head["coef"].T)) + tf.constant(head["intercept"][None, :])
        probs = tf.nn.softmax(logits, name="quadrant_probs")
    return sess, x, features, probs


def clip_patches(row: dict[str, str]) -> np.ndarray:
    """The model input of one clip, exactly as the daemon's scan computes it."""
    from moodshuffle.library.analysis import PATCHES, SAMPLE_RATE, WINDOW_S, model_patches, power_spectrogram
    from moodshuffle.library.decode import decode_windows

    windows = decode_windows(DATA / row["file"], SAMPLE_RATE, WINDOW_S, PATCHES)
    return model_patches([power_spectrogram(w) for w in windows])


def extract(work: Path, tf) -> np.ndarray:
    """(720, PATCHES, 500) per-patch features, cached in ``work``."""
    from moodshuffle.library.analysis import PATCHES

    out = work / "features.npz"
    rows = load_labels()
    if out.exists():
        return np.load(out)["feats"]
    sess, x, features, _ = build_graph(tf, PATCHES)
    feats = np.zeros((len(rows), PATCHES, int(features.shape[1])), np.float32)
    t0 = time.time()
    for i, row in enumerate(rows):
        feats[i] = sess.run(features, {x: clip_patches(row)})
        if i % 50 == 0:
            print(f"{i}/{len(rows)} {time.time() - t0:.0f}s", flush=True)
    np.savez(out, feats=feats, files=np.array([r["file"] for r in rows]))
    print(f"features: {out} ({time.time() - t0:.0f}s)", flush=True)
    return feats


def pool(feats: np.ndarray) -> np.ndarray:
    """(N, patches, d) -> (N, 2d): mean and standard deviation over the patches (as in the graph)."""
    return np.concatenate([feats.mean(1), feats.std(1)], axis=1)


def fit_head(X: np.ndarray, y: np.ndarray, c: float) -> dict:
    from sklearn.linear_model import LogisticRegression

    mu, sigma = X.mean(0), X.std(0) + 1e-6
    clf = LogisticRegression(C=c, max_iter=5000).fit((X - mu) / sigma, y)
    return {"mu": mu.astype(np.float32), "sigma": sigma.astype(np.float32),
            "coef": clf.coef_.astype(np.float32), "intercept": clf.intercept_.astype(np.float32)}


def head_probs(head: dict, X: np.ndarray) -> np.ndarray:
    z = (X - head["mu"]) / head["sigma"]
    logits = z @ head["coef"].T + head["intercept"]
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def cross_validate(X: np.ndarray, y: np.ndarray, groups: np.ndarray, c: float, seeds: int) -> dict:
    """Artist-grouped 5-fold CV repeated over ``seeds`` groupings: each figure's mean, its
    standard deviation and range over the groupings."""
    from sklearn.model_selection import StratifiedGroupKFold

    from moodshuffle.evaluation.music import quadrant_metrics

    runs = []
    for seed in range(seeds):
        probs = np.zeros((len(y), 4))
        for tr, te in StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed).split(X, y, groups):
            probs[te] = head_probs(fit_head(X[tr], y[tr], c), X[te])
        runs.append(quadrant_metrics(y, probs))
    summary: dict = {"C": c, "groupings": seeds}
    for key in ("accuracy", "macro_f1", "valence_accuracy", "arousal_accuracy"):
        v = np.array([r[key] for r in runs])
        summary[key] = {"mean": round(float(v.mean()), 4), "std": round(float(v.std()), 4),
                        "min": round(float(v.min()), 4), "max": round(float(v.max()), 4)}
    summary["per_class_recall"] = {q: round(float(np.mean([r["per_class_recall"][q] for r in runs])), 4)
                                   for q in QUADRANTS}
    summary["confusion_summed"] = np.sum([r["confusion"] for r in runs], axis=0).tolist()
    return summary


def export(tf, head: dict, out: Path) -> None:
    from tflite_contract import with_contract

    from moodshuffle.library.analysis import PATCHES
    from moodshuffle.tflite_metadata import CONTRACT_KEY

    sess, x, _, probs = build_graph(tf, PATCHES, head)
    converter = tf.compat.v1.lite.TFLiteConverter.from_session(sess, [x], [probs])
    # float16 weights, float32 compute: int8 weights cost 11 points of accuracy with the MSD tagger
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    blob = with_contract(converter.convert(), CONTRACT_KEY, CONTRACT)
    out.write_bytes(blob)
    print(f"wrote {out} ({len(blob) / 1024:.0f} KiB, float16 weights)", flush=True)


def check_export(out: Path, head: dict, feats: np.ndarray, rows: list[dict[str, str]], n: int = 24) -> dict:
    """The daemon's inference on the exported file against the head on the cached features."""
    from moodshuffle.library.music_model import MusicEmotionModel

    model = MusicEmotionModel(out)
    idx = np.linspace(0, len(rows) - 1, n).astype(int)
    tflite = np.stack([model.predict(clip_patches(rows[i])) for i in idx])
    ref = head_probs(head, pool(feats[idx]))
    return {"clips": n, "max_abs_prob_diff": round(float(np.abs(tflite - ref).max()), 4),
            "same_quadrant": int((tflite.argmax(1) == ref.argmax(1)).sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/moodshuffle-music"))
    parser.add_argument("--out", type=Path, default=REPO / "models" / "music_emotion.tflite")
    parser.add_argument("--seeds", type=int, default=5, help="artist groupings of the cross-validation")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    rows = load_labels()
    feats = extract(args.work, tf)
    X = pool(feats)
    y = np.array([QUADRANTS.index(r["quadrant"]) for r in rows])
    groups = np.array([r["artist"] for r in rows])
    candidates = []
    for c in C_GRID:
        cv = cross_validate(X, y, groups, c, args.seeds)
        print(json.dumps(cv), flush=True)
        candidates.append(cv)
    chosen = max(candidates, key=lambda cv: cv["accuracy"]["mean"])
    head = fit_head(X, y, chosen["C"])  # all 720 clips: no part is held back once the choice is made
    export(tf, head, args.out)
    check = check_export(args.out, head, feats, rows)
    result = {"chosen": chosen, "candidates": candidates, "n_train": len(y), "export_check": check}
    (args.work / "fit.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({"chosen": chosen, "export_check": check}), flush=True)


if __name__ == "__main__":
    main()
