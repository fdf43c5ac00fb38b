"""Build ``models/music_emotion.tflite``: musicnn taggers (MSD and MTT) as frozen feature
extractors + our quadrant head, in one TFLite graph.

    .venv/bin/pip install -e '.[train]' && .venv/bin/pip install --no-deps musicnn==0.1.0
    TF_USE_LEGACY_KERAS=1 nice .venv/bin/python models/train_music.py [--work /var/tmp/moodshuffle-music]

Steps: (1) build the graph [power spectrogram patches -> Slaney mel filterbank ->
log10(10000 mel + 1) -> musicnn MSD and MTT taggers -> per patch, each tagger's 200-d
penultimate layer and its 50 tag logits], restore the checkpoints shipped in the musicnn
wheel, and extract those features for the clips of both labelled sets (the 720 of
``../shared/data/music-4q`` and the 200 of ``../shared/data/music-emotify``) with the daemon's
own windowing (``moodshuffle.library.analysis``), cached in ``--work`` (``--extract-only``
stops there); (2) score every recipe of ``RECIPES`` (``music_heads.py``) by repeated
artist-grouped cross-validation over the union of the sets (StratifiedGroupKFold, 5 folds,
``--seeds`` groupings, stratified by set and quadrant), reported per set, each recipe paired
with the shipped one on the same folds, and the queue precision of its out-of-fold placements
(``bench/music_queue_precision.py``); print one JSON line per recipe and the card's table;
(3) if a recipe clears the bar (``music_heads.beats_baseline``), fit it on every clip, append
pooling + standardisation + head to the graph, convert it to TFLite (float16 weights) with
the class order as metadata, and check that the daemon's own inference code reproduces the
head's probabilities; otherwise leave the model file alone. ``--work/fit.json`` keeps every
figure, ``--work/oof.npz`` the out-of-fold probabilities.

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
sys.path.insert(0, str(REPO / "bench"))
DATA_ROOT = REPO.parent / "shared" / "data"
#: the labelled sets: 4Q (720 clips, perceived emotion, AllMusic mood tags) and Emotify (200
#: clips, induced emotion from a crowdsourcing game; README in its folder)
DATASETS = {"4q": DATA_ROOT / "music-4q", "emotify": DATA_ROOT / "music-emotify"}

from music_heads import (  # noqa: E402
    Labelled,
    Recipe,
    beats_baseline,
    fit_head,
    groupings,
    head_probs,
    out_of_fold,
    per_set_metrics,
    summarise,
)
from music_queue_precision import queue_precision  # noqa: E402

from moodshuffle.domain.emotions import QUADRANTS  # noqa: E402

TAGGERS = ("MSD_musicnn", "MTT_musicnn")
BOTH = ("4q", "emotify")
#: first shuffle seed of the fresh groupings that confirm a choice (never used to choose)
CONFIRM_SEED = 100
#: the shipped recipe (chosen in the earlier searches on 4Q alone), the baseline of every comparison
BASE = Recipe("shipped: 4Q only, softmax LR", C=0.003)
#: every candidate of the issue-32 search, in the order of the card's table
RECIPES = (
    BASE,
    Recipe("joint softmax, Emotify clip weight 1", sets=BOTH),
    Recipe("joint softmax, sets balanced (Emotify clip weight 3.6)", sets=BOTH, emotify_weight="balanced"),
    Recipe("joint softmax, sets balanced, C 0.001", C=0.001, sets=BOTH, emotify_weight="balanced"),
    Recipe("joint softmax, sets balanced, C 0.01", C=0.01, sets=BOTH, emotify_weight="balanced"),
    Recipe("joint softmax, sets balanced, unclear Emotify x0.5", sets=BOTH, emotify_weight="balanced",
           unclear_weight=0.5),
    Recipe("sign heads (LR per axis), 4Q only", kind="sign"),
    Recipe("joint sign heads, Emotify clip weight 1", kind="sign", sets=BOTH),
    Recipe("joint sign heads, sets balanced", kind="sign", sets=BOTH, emotify_weight="balanced"),
    Recipe("joint sign heads, ridge on Emotify's continuous V/A, balanced, alpha 300", kind="sign", sets=BOTH,
           emotify_weight="balanced", ridge_alpha=300.0),
    Recipe("joint sign heads, ridge on Emotify's continuous V/A, balanced, alpha 3000", kind="sign", sets=BOTH,
           emotify_weight="balanced", ridge_alpha=3000.0),
    Recipe("Emotify only, softmax LR (reference, not shippable)", sets=("emotify",)),
    # second round, added after the first was read: less Emotify weight, to keep 4Q where it was
    Recipe("joint softmax, Emotify clip weight 0.5", sets=BOTH, emotify_weight=0.5),
    Recipe("joint softmax, Emotify clip weight 0.25", sets=BOTH, emotify_weight=0.25),
    Recipe("joint softmax, Emotify clip weight 1, clear Emotify tracks only", sets=BOTH, unclear_weight=0.0),
)
#: the model's input contract, stored in the .tflite as metadata; the daemon checks the class order at load
CONTRACT = {
    "task": "music emotion quadrants of Russell's plane",
    "input": "(8, 187, 257) power spectrogram patches, 16 kHz mono, 512-point FFT, hop 256 (analysis.py)",
    "classes": list(QUADRANTS),
    "features": "musicnn MSD and MTT: penultimate layer and tag logits per patch; mean and std over patches",
}


def load_labels(dataset: str = "4q") -> list[dict[str, str]]:
    """The rows of a data set's labels.csv, each with ``path`` (absolute) and ``dataset`` added."""
    with open(DATASETS[dataset] / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row.update(path=str(DATASETS[dataset] / row["file"]), dataset=dataset)
    return rows


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
        if head["kind"] == "softmax":
            probs = tf.nn.softmax(logits, name="quadrant_probs")
        else:  # two sign heads: P(valence > 0), P(arousal > 0), combined into Q1..Q4
            pv, pa = tf.split(tf.sigmoid(logits), 2, axis=1)
            probs = tf.concat([pv * pa, (1 - pv) * pa, (1 - pv) * (1 - pa), pv * (1 - pa)], axis=1,
                              name="quadrant_probs")
    return sess, x, features, probs


def clip_patches(row: dict[str, str]) -> np.ndarray:
    """The model input of one clip, exactly as the daemon's scan computes it."""
    from moodshuffle.library.analysis import PATCHES, SAMPLE_RATE, WINDOW_S, model_patches, power_spectrogram
    from moodshuffle.library.decode import decode_windows

    windows = decode_windows(Path(row["path"]), SAMPLE_RATE, WINDOW_S, PATCHES)
    return model_patches([power_spectrogram(w) for w in windows])


def extract(work: Path, tf, dataset: str) -> np.ndarray:
    """(clips, PATCHES, 500) per-patch features of a data set, cached in ``work``."""
    from moodshuffle.library.analysis import PATCHES

    out = work / f"features-{dataset}.npz"
    rows = load_labels(dataset)
    if out.exists():
        cached = np.load(out)
        if cached["files"].tolist() != [r["file"] for r in rows]:
            raise SystemExit(f"{out}: cached for other clips than {DATASETS[dataset]}/labels.csv; remove it")
        return cached["feats"]
    sess, x, features, _ = build_graph(tf, PATCHES)
    feats = np.zeros((len(rows), PATCHES, int(features.shape[1])), np.float32)
    t0 = time.time()
    for i, row in enumerate(rows):
        feats[i] = sess.run(features, {x: clip_patches(row)})
        if i % 50 == 0:
            print(f"{dataset} {i}/{len(rows)} {time.time() - t0:.0f}s", flush=True)
    np.savez(out, feats=feats, files=np.array([r["file"] for r in rows]))
    print(f"features: {out} ({time.time() - t0:.0f}s)", flush=True)
    return feats


def pool(feats: np.ndarray) -> np.ndarray:
    """(N, patches, d) -> (N, 2d): mean and standard deviation over the patches (as in the graph)."""
    return np.concatenate([feats.mean(1), feats.std(1)], axis=1)


def labelled(feats_by_set: dict[str, np.ndarray]) -> tuple[Labelled, list[dict[str, str]]]:
    """The union of the sets (4Q first) as pooled features and labels, and its label rows."""
    rows = [r for name in DATASETS for r in load_labels(name)]
    va = np.array([[float(r["valence"]), float(r["arousal"])] if "valence" in r else [np.nan, np.nan] for r in rows])
    data = Labelled(
        X=pool(np.concatenate([feats_by_set[name] for name in DATASETS])),
        y=np.array([QUADRANTS.index(r["quadrant"]) for r in rows]),
        dataset=np.array([r["dataset"] for r in rows]),
        # one artist is one group whichever set its clips come from
        artist=np.array([r["artist"].strip().casefold() for r in rows]),
        va=va,
        clear=np.array([r.get("clear", "1") == "1" for r in rows]),
    )
    return data, rows


def export(tf, head: dict, out: Path) -> None:
    from tflite_contract import with_contract

    from moodshuffle.library.analysis import PATCHES
    from moodshuffle.tflite_metadata import CONTRACT_KEY

    sess, x, _, probs = build_graph(tf, PATCHES, head)
    converter = tf.compat.v1.lite.TFLiteConverter.from_session(sess, [x], [probs])
    # float16 weights, float32 compute: int8 weights cost 11 points of accuracy with the MSD tagger
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    head_text = ("4-way logistic regression (softmax)" if head["kind"] == "softmax" else
                 "two logistic sign heads, P(Q1) = P(v+) P(a+), P(Q2) = P(v-) P(a+), ...")
    blob = with_contract(converter.convert(), CONTRACT_KEY, {**CONTRACT, "head": head_text})
    out.write_bytes(blob)
    print(f"wrote {out} ({len(blob) / 1024:.0f} KiB, float16 weights)", flush=True)


def check_export(out: Path, head: dict, X: np.ndarray, rows: list[dict[str, str]], n: int = 24) -> dict:
    """The daemon's inference on the exported file against the head on the cached pooled
    features ``X`` (rows of ``rows``), on ``n`` clips spread over both sets."""
    from moodshuffle.library.music_model import MusicEmotionModel

    model = MusicEmotionModel(out)
    idx = np.linspace(0, len(rows) - 1, n).astype(int)
    tflite = np.stack([model.predict(clip_patches(rows[i])) for i in idx])
    ref = head_probs(head, X[idx])
    return {"clips": n, "max_abs_prob_diff": round(float(np.abs(tflite - ref).max()), 4),
            "same_quadrant": int((tflite.argmax(1) == ref.argmax(1)).sum())}


def score(oof: np.ndarray, data: Labelled, base_oof: np.ndarray) -> dict:
    """Per set figures of out-of-fold probabilities, paired with the baseline's on the same
    folds, and the queue precision of the placements they give."""
    runs, base_runs = per_set_metrics(oof, data), per_set_metrics(base_oof, data)
    summary = {ds: summarise(runs[ds], base_runs[ds]) for ds in DATASETS}
    summary["queue_precision"] = queue_precision(oof, data.y, data.artist)
    return summary


def table_row(name: str, summary: dict) -> str:
    """One line of the card's table: per set accuracy / valence / arousal (mean +- sd) and
    the paired differences from the baseline."""
    cells = []
    for ds in DATASETS:
        m = summary[ds]
        for key in ("accuracy", "valence_accuracy", "arousal_accuracy"):
            v = m[key]
            d = f" ({v['diff_mean'] * 100:+.1f})" if "diff_mean" in v and name != BASE.name else ""
            cells.append(f"{v['mean'] * 100:.1f} ± {v['sd'] * 100:.1f}{d}")
        cells.append("/".join(f"{m['per_class_recall'][q] * 100:.0f}" for q in QUADRANTS))
    return f"| {name} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/moodshuffle-music"))
    parser.add_argument("--out", type=Path, default=REPO / "models" / "music_emotion.tflite")
    parser.add_argument("--seeds", type=int, default=5, help="artist groupings of the cross-validation")
    parser.add_argument("--extract-only", action="store_true", help="cache the features of both sets and stop")
    parser.add_argument("--no-export", action="store_true", help="report the search; leave the model file alone")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    feats_by_set = {name: extract(args.work, tf, name) for name in DATASETS}
    if args.extract_only:
        return
    data, rows = labelled(feats_by_set)
    splits = groupings(data, args.seeds)
    oofs, results = {}, []
    for recipe in RECIPES:
        t0 = time.process_time()
        oof = out_of_fold(recipe, data, splits)
        oofs[recipe.name] = oof
        results.append({"recipe": recipe.__dict__, "summary": score(oof, data, oofs[BASE.name]),
                        "cpu_s": round(time.process_time() - t0, 1)})
        results[-1]["beats_baseline"] = beats_baseline(results[-1]["summary"])
        print(json.dumps(results[-1]), flush=True)
    np.savez(args.work / "oof.npz", names=np.array(list(oofs)), oof=np.stack(list(oofs.values())), y=data.y,
             dataset=data.dataset, artist=data.artist)
    print("\n| candidate | 4Q accuracy | 4Q valence | 4Q arousal | 4Q recall Q1/Q2/Q3/Q4 | Emotify accuracy "
          "| Emotify valence | Emotify arousal | Emotify recall Q1/Q2/Q3/Q4 |")
    print("| --- " * 9 + "|")
    for r in results:
        print(table_row(r["recipe"]["name"], r["summary"]))
    # shippable: fitted on 4Q (its figures are the ones the daemon was chosen on) and beats the bar;
    # among those, the best sum of 4Q accuracy and Emotify valence and arousal accuracy
    eligible = [r for r in results if r["beats_baseline"] and "4q" in r["recipe"]["sets"]]
    chosen = max(eligible, key=lambda r: sum(r["summary"][ds][k]["mean"] for ds, k in
                                            (("4q", "accuracy"), ("emotify", "valence_accuracy"),
                                             ("emotify", "arousal_accuracy"))), default=None)
    if chosen is not None:
        # the choice was made on these groupings among many recipes: confirm it on fresh ones
        fresh = groupings(data, args.seeds, first=CONFIRM_SEED)
        recipe = next(r for r in RECIPES if r.name == chosen["recipe"]["name"])
        base_oof = out_of_fold(BASE, data, fresh)
        confirm = {"groupings": f"{CONFIRM_SEED}..{CONFIRM_SEED + args.seeds - 1}",
                   "base": score(base_oof, data, base_oof),
                   "chosen": score(out_of_fold(recipe, data, fresh), data, base_oof)}
        confirm["beats_baseline"] = beats_baseline(confirm["chosen"])
        print(json.dumps({"confirmation": confirm}), flush=True)
        print(table_row(f"{BASE.name} (fresh groupings)", confirm["base"]))
        print(table_row(f"{recipe.name} (fresh groupings)", confirm["chosen"]))
        chosen["confirmation"] = confirm
        if not confirm["beats_baseline"]:
            chosen = None
    result: dict = {"candidates": results, "groupings": args.seeds, "n": {ds: int((data.dataset == ds).sum())
                                                                          for ds in DATASETS}}
    if chosen is None:
        print("no candidate beats the shipped recipe: the model is unchanged", flush=True)
    else:
        recipe = next(r for r in RECIPES if r.name == chosen["recipe"]["name"])
        print(f"chosen: {recipe.name}", flush=True)
        result["chosen"] = recipe.name
        if not args.no_export:
            # every clip of both sets: no part is held back once the choice is made
            head = fit_head(recipe, data, np.arange(len(data.y)))
            export(tf, head, args.out)
            result["export_check"] = check_export(args.out, head, data.X, rows)
            result["export_bytes"] = args.out.stat().st_size
            print(json.dumps({"export_check": result["export_check"]}), flush=True)
    (args.work / "fit.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
