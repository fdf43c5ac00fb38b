"""``moodshuffle eval voice DIR``: the daemon's own voice pipeline on labelled recordings."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from moodshuffle.config import Config
from moodshuffle.domain.emotions import INDEX, VOICE_CLASSES
from moodshuffle.library.decode import DecodeError, decode_windows
from moodshuffle.perceive.voice import SPEECH_THRESHOLD, VoiceAnalyzer, endpoint
from moodshuffle.perceive.voice_features import SAMPLE_RATE, segment_features

HIGH = {"angry", "happy", "fearful", "fear", "surprised", "surprise"}
LOW = {"neutral", "calm", "sad", "bored"}


def main(data: Path, model: Path, cfg: Config) -> dict[str, Any]:
    """DIR/labels.csv: ``file`` (relative to DIR), ``emotion`` and, optionally, ``speaker``.

    Each file goes through the daemon's endpointer, speech detector and model. The session
    normalisation is fixed before the figures are taken, so they do not depend on the order of
    the rows: its statistics are those of all the speech in DIR (a household heard for a long
    time), or of each speaker's speech when labels.csv has a ``speaker`` column (a household
    whose voices the daemon has learnt). Files with no speech found count in
    ``speech_found_rate`` and are left out of the other figures. Last line: one JSON object."""
    with open(data / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    by_speaker = bool(rows) and "speaker" in rows[0]
    analyzer = VoiceAnalyzer(model, cfg.models.num_threads)
    audio_s = cpu_s = 0.0
    files: list[tuple[dict[str, str], list[tuple[int, np.ndarray]]]] = []
    speech: dict[str, list[np.ndarray]] = {}
    for r in rows:  # pass 1: segments, features, and the speech heard per session
        try:
            (audio,) = decode_windows(data / r["file"], SAMPLE_RATE, 24 * 3600, 1)
        except DecodeError as exc:
            print(f"unreadable: {r['file']}: {exc}")
            continue
        t0 = time.process_time()
        segments = [(end - start, segment_features(audio[start:end])) for start, end in endpoint(audio)]
        session = speech.setdefault(_session_key(r, by_speaker), [])
        session += [f for _, f in segments if analyzer.speech_probability(f) >= SPEECH_THRESHOLD]
        cpu_s += time.process_time() - t0
        audio_s += len(audio) / SAMPLE_RATE
        files.append((r, segments))
    found = 0
    arousal_true, arousal_pred = [], []
    per_class: dict[str, list[bool]] = {}
    for r, segments in files:  # pass 2: observations with the session statistics fixed
        t0 = time.process_time()
        heard = speech[_session_key(r, by_speaker)]
        analyzer.set_session(np.stack(heard) if heard else None)
        obs = analyzer.observe(segments, [0.0] * len(segments))
        cpu_s += time.process_time() - t0
        if not obs:
            continue
        found += 1
        w = np.array([o.confidence for o in obs]) + 1e-3
        arousal = float(np.average([o.arousal for o in obs], weights=w))
        probs = np.average(np.stack([np.asarray(o.probs) for o in obs]), axis=0, weights=w)
        emotion = r["emotion"].strip().lower()
        if emotion in HIGH | LOW:
            arousal_true.append(emotion in HIGH)
            arousal_pred.append(arousal >= 0)
        if emotion in VOICE_CLASSES:
            best = VOICE_CLASSES[int(np.argmax([probs[INDEX[c]] for c in VOICE_CLASSES]))]
            per_class.setdefault(emotion, []).append(best == emotion)
    t, p = np.array(arousal_true, bool), np.array(arousal_pred, bool)
    ba = 0.5 * ((t & p).sum() / max(1, t.sum()) + (~t & ~p).sum() / max(1, (~t).sum())) if len(t) else 0.0
    result = {
        "n": len(rows),
        "speech_found_rate": round(found / max(1, len(rows)), 4),
        "arousal_balanced_accuracy": round(float(ba), 4),
        "arousal_n": int(len(t)),
        "per_class_recall": {k: round(float(np.mean(v)), 4) for k, v in sorted(per_class.items())},
        "normalisation": "per speaker" if by_speaker else "whole set",
        "ms_per_second_of_audio": round(1000 * cpu_s / max(audio_s, 1e-9), 2),
    }
    print(json.dumps(result))
    return result


def _session_key(row: dict[str, str], by_speaker: bool) -> str:
    return (row.get("speaker") or "").strip() if by_speaker else ""
