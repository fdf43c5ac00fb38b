"""Train the voice model (speech detector + arousal + four vocal classes) and export it.

    .venv/bin/pip install -e '.[train]'
    nice .venv/bin/python models/train_voice.py --work /work/ckpt/voice

Data: ../shared/data/speech (RAVDESS, TESS) for speech; ../shared/data/music-4q clips of the
artists in ``music_artists('train')`` as music (the other artists are kept for the tests that
check that music alone produces no voice observation), speech mixed over that music at 0..15 dB
SNR (still speech), and synthetic noise. Features: ``moodshuffle.perceive.voice_features`` on
the segments the daemon's own endpointer cuts. The emotion heads see features standardised per
speaker (the daemon's running session normalisation approximates that).

Reports (printed, and in --work/report.json): leave-speakers-out (RAVDESS actors 21-24) and
cross-corpus (train RAVDESS -> test TESS, train TESS -> test RAVDESS) figures. The shipped
model is then trained on all speakers of both corpora.
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
SPEECH = REPO.parent / "shared" / "data" / "speech"
MUSIC = REPO.parent / "shared" / "data" / "music-4q"
SEED = 11
HIGH = {"angry", "happy", "fearful", "surprised"}
LOW = {"neutral", "calm", "sad", "bored"}
CLASSES = ("angry", "happy", "neutral", "sad")


def music_artists(part: str) -> set[str]:
    """A seeded 75% of the 4Q artists for training ('train'); the rest ('test') stay unseen."""
    with open(MUSIC / "labels.csv", newline="") as f:
        artists = sorted({r["artist"] for r in csv.DictReader(f)})
    rng = np.random.default_rng(SEED)
    chosen = set(rng.choice(artists, int(0.75 * len(artists)), replace=False))
    return chosen if part == "train" else set(artists) - chosen


def decode(path: Path) -> np.ndarray:
    import soundfile as sf
    from scipy.signal import resample_poly

    audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
    audio = audio.mean(1)
    return audio if sr == 16000 else resample_poly(audio, 16000, sr).astype(np.float32)


def extract(work: Path) -> None:
    from moodshuffle.perceive.voice import endpoint
    from moodshuffle.perceive.voice_features import segment_features

    rng = np.random.default_rng(SEED)
    with open(SPEECH / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    feats, meta = [], []  # meta: (kind, corpus, speaker, emotion)
    speech_segments = []
    t0 = time.time()
    for i, r in enumerate(rows):
        audio = decode(SPEECH / r["file"])
        for s, e in endpoint(audio):
            feats.append(segment_features(audio[s:e]))
            meta.append(("speech", r["corpus"], r["speaker"], r["emotion"]))
            if rng.random() < 0.5:
                speech_segments.append((audio[s:e], r))
        if i % 500 == 0:
            print(f"speech {i}/{len(rows)} {time.time() - t0:.0f}s", flush=True)
    with open(MUSIC / "labels.csv", newline="") as f:
        music_rows = [r for r in csv.DictReader(f) if r["artist"] in music_artists("train")]
    music_segments = []
    for i, r in enumerate(music_rows):
        audio = decode(MUSIC / r["file"])
        for s, e in endpoint(audio):
            feats.append(segment_features(audio[s:e]))
            meta.append(("music", "4q", r["artist"], ""))
            music_segments.append(audio[s:e])
        if i % 100 == 0:
            print(f"music {i}/{len(music_rows)} {time.time() - t0:.0f}s", flush=True)
    # speech over music (the speaker playing while people talk) is still speech
    for seg, r in speech_segments:
        music = music_segments[rng.integers(len(music_segments))]
        music = np.resize(music, len(seg))
        snr_db = rng.uniform(0, 15)
        gain = np.sqrt(np.mean(seg**2) / (np.mean(music**2) + 1e-10) / 10 ** (snr_db / 10))
        feats.append(segment_features(seg + gain * music))
        meta.append(("mix", r["corpus"], r["speaker"], r["emotion"]))
    # noise of several colours and levels
    for _ in range(600):
        n = int(rng.uniform(0.6, 4.0) * 16000)
        white = rng.normal(0, 1, n).astype(np.float32)
        colour = rng.choice(["white", "pink", "brown"])
        if colour != "white":
            spec = np.fft.rfft(white)
            f = np.maximum(np.fft.rfftfreq(n, 1 / 16000), 20)
            spec /= np.sqrt(f) if colour == "pink" else f
            white = np.fft.irfft(spec, n).astype(np.float32)
        white *= 10 ** (rng.uniform(-40, -10) / 20) / (np.sqrt(np.mean(white**2)) + 1e-10)
        feats.append(segment_features(white))
        meta.append(("noise", "synthetic", "noise", ""))
    np.savez(work / "features.npz", feats=np.stack(feats), meta=np.array(meta))
    print(f"features: {len(feats)} segments in {time.time() - t0:.0f}s", flush=True)


def speaker_norm(x: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    out = x.copy()
    for s in np.unique(speakers):
        m = speakers == s
        out[m] = (x[m] - x[m].mean(0)) / (x[m].std(0) + 1e-6)
    return out


def targets(meta: np.ndarray) -> dict[str, np.ndarray]:
    kind, emotion = meta[:, 0], meta[:, 3]
    is_speech = np.isin(kind, ["speech", "mix"])
    high = np.isin(emotion, list(HIGH))
    has_arousal = is_speech & (high | np.isin(emotion, list(LOW)))
    cls = np.array([CLASSES.index(e) if e in CLASSES else 0 for e in emotion])
    has_cls = is_speech & np.isin(emotion, CLASSES)
    return {"speech": is_speech.astype(np.float32), "arousal": high.astype(np.float32),
            "has_arousal": has_arousal.astype(np.float32), "cls": cls, "has_cls": has_cls.astype(np.float32)}


#: the prosody and voice-quality features (loudness, pitch, spectral shape, modulation): the
#: first 21 of voice_features.segment_features; the rest are log-mel band statistics
N_PROSODY = 21


def build(tf, n_features: int, emotion_inputs: str = "all"):
    k = tf.keras
    xg = k.Input((n_features,), name="features_global")
    xs = k.Input((n_features,), name="features_session")
    h = k.layers.Dense(32, activation="relu")(xg)
    speech = k.layers.Dense(1, activation="sigmoid", name="speech")(h)
    es = xs if emotion_inputs == "all" else k.layers.Lambda(lambda t: t[:, :N_PROSODY])(xs)
    e = k.layers.Dropout(0.2)(k.layers.Dense(64, activation="relu")(es))
    e = k.layers.Dense(32, activation="relu")(e)
    arousal = k.layers.Dense(1, activation="sigmoid", name="arousal")(e)
    classes = k.layers.Dense(4, activation="softmax", name="classes")(e)
    # named outputs: the TFLite signature carries the names the daemon looks up
    model = k.Model({"features_global": xg, "features_session": xs},
                    {"speech": speech, "arousal": arousal, "classes": classes})
    model.compile(optimizer=k.optimizers.Adam(2e-3),
                  loss={"speech": "binary_crossentropy", "arousal": "binary_crossentropy",
                        "classes": "sparse_categorical_crossentropy"})
    return model


def household_norm(x: np.ndarray, speakers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``x`` standardised over random "households" of 2-5 speakers (any corpus, any sex): the
    session statistics of a living room where several people talk."""
    names = rng.permutation(np.unique(speakers))
    house, i = {}, 0
    while i < len(names):
        size = int(rng.integers(2, 6))
        house.update({n: f"house{i}" for n in names[i : i + size]})
        i += size
    return speaker_norm(x, np.array([house[s] for s in speakers]))


def fit(tf, xg, xs, t, idx, epochs=40, emotion_inputs="all", extra=()):
    """Train on the rows ``idx``. Each array of ``extra`` (the features standardised over other
    groupings than the speaker: a corpus, a household) adds a copy of the rows for the emotion
    heads, so that they work whether the session statistics come from one voice or several."""
    tf.keras.utils.set_random_seed(SEED)
    model = build(tf, xg.shape[1], emotion_inputs)
    if extra:
        n, copies = len(xs), 1 + len(extra)
        xg, xs = np.concatenate([xg] * copies), np.concatenate([xs, *extra])
        t = {k: np.concatenate([v] * copies) for k, v in t.items()}
        idx = np.concatenate([idx + k * n for k in range(copies)])
    # masked targets: weight 0 where a segment has no arousal / class label
    model.fit({"features_global": xg[idx], "features_session": xs[idx]},
              {"speech": t["speech"][idx], "arousal": t["arousal"][idx], "classes": t["cls"][idx]},
              sample_weight={"speech": np.ones(len(idx), np.float32), "arousal": t["has_arousal"][idx],
                             "classes": t["has_cls"][idx]},
              epochs=epochs, batch_size=128, verbose=0)
    return model


def evaluate(model, xg, xs, t, meta, idx) -> dict:
    out = model.predict({"features_global": xg[idx], "features_session": xs[idx]}, verbose=0, batch_size=1024)
    speech, high, cls = (np.asarray(out[k]) for k in ("speech", "arousal", "classes"))
    kinds = meta[idx, 0]
    a = t["has_arousal"][idx] > 0
    pred_high, true_high = high[:, 0] >= 0.5, t["arousal"][idx] > 0
    ba = 0.5 * ((pred_high & true_high)[a].sum() / max(1, true_high[a].sum())
                + (~pred_high & ~true_high)[a].sum() / max(1, (~true_high)[a].sum()))
    c = t["has_cls"][idx] > 0
    pc = cls.argmax(1)
    recall = {name: round(float((pc[c & (t["cls"][idx] == i)] == i).mean()), 4) for i, name in enumerate(CLASSES)
              if (c & (t["cls"][idx] == i)).any()}
    out = {"segments": int(len(idx)), "arousal_balanced_accuracy": round(float(ba), 4), "per_class_recall": recall}
    for kind in ("speech", "mix", "music", "noise"):
        m = kinds == kind
        if m.any():
            out[f"speech_rate_{kind}"] = round(float((speech[m, 0] >= 0.5).mean()), 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="/tmp/moodshuffle-voice")
    parser.add_argument("--out", default=str(REPO / "models" / "voice_emotion.tflite"))
    parser.add_argument("--emotion-inputs", choices=("all", "prosody"), default="prosody",
                        help="features the arousal/class heads see: all, or prosody and voice quality only")
    parser.add_argument("--session-norm", choices=("speaker", "speaker+corpus", "speaker+corpus+household"),
                        default="speaker+corpus+household",
                        help="standardisation of the emotion heads' input in training")
    parser.add_argument("--corpora", nargs="+", choices=("ravdess", "tess"), default=["ravdess", "tess"],
                        help="speech the exported model is trained on (one corpus: a model to test on the other)")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "features.npz").exists():
        extract(work)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    data = np.load(work / "features.npz")
    x, meta = data["feats"].astype(np.float32), data["meta"]
    mu, sigma = x.mean(0), x.std(0) + 1e-6
    xg = (x - mu) / sigma
    xs = speaker_norm(x, meta[:, 2])
    t = targets(meta)
    is_speech = t["speech"] > 0
    extra = []
    if "corpus" in args.session_norm:
        extra.append(speaker_norm(x, meta[:, 1]))
    if "household" in args.session_norm:
        groups = household_norm(x[is_speech], meta[is_speech, 2], np.random.default_rng(SEED))
        extra.append(xs.copy())
        extra[-1][is_speech] = groups
    corpus, speaker = meta[:, 1], meta[:, 2]
    other = ~np.isin(corpus, ["ravdess", "tess"])
    report = {}
    held = np.isin(speaker, [f"ravdess_{i:02d}" for i in (21, 22, 23, 24)])
    rng = np.random.default_rng(SEED)
    non_speech_test = other & (rng.random(len(x)) < 0.25)
    splits = {
        "leave_speakers_out (train: RAVDESS 1-20 + TESS, test: RAVDESS 21-24)": (~held & ~non_speech_test,
                                                                                  held | non_speech_test),
        "cross_corpus (train: RAVDESS, test: TESS)": ((corpus == "ravdess") | (other & ~non_speech_test),
                                                      (corpus == "tess") | non_speech_test),
        "cross_corpus (train: TESS, test: RAVDESS)": ((corpus == "tess") | (other & ~non_speech_test),
                                                      (corpus == "ravdess") | non_speech_test),
    }
    for name, (tr, te) in splits.items():
        model = fit(tf, xg, xs, t, np.nonzero(tr)[0], emotion_inputs=args.emotion_inputs, extra=extra)
        report[name] = evaluate(model, xg, xs, t, meta, np.nonzero(te)[0])
        print(name, json.dumps(report[name]), flush=True)
        # the test speech standardised as one set (no speaker ids), as `eval voice` without a speaker column
        key = name + " [test standardised as one set]"
        as_one_set = speaker_norm(x, np.where(te & is_speech, "test", corpus))
        report[key] = evaluate(model, xg, as_one_set, t, meta, np.nonzero(te)[0])
        print(key, json.dumps(report[key]), flush=True)
    shipped = np.isin(corpus, args.corpora) | other
    model = fit(tf, xg, xs, t, np.nonzero(shipped)[0], emotion_inputs=args.emotion_inputs, extra=extra)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]  # int8 weights
    blob = converter.convert()
    Path(args.out).write_bytes(blob)
    Path(args.out).with_suffix(".norm.json").write_text(
        json.dumps({"mean": [float(v) for v in mu], "std": [float(v) for v in sigma]}))
    (work / "report.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out} ({len(blob)} bytes)", flush=True)


if __name__ == "__main__":
    main()
