"""``moodshuffle eval music DIR``: the daemon's own track analysis on labelled clips."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from moodshuffle.domain.emotions import QUADRANT_VA, QUADRANTS, from_quadrant_probs
from moodshuffle.library.analysis import analyse
from moodshuffle.library.decode import DecodeError
from moodshuffle.library.music_model import MusicEmotionModel


def _macro_f1(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    f1 = []
    for c in range(k):
        tp = float(((pred == c) & (y == c)).sum())
        prec = tp / max(1.0, float((pred == c).sum()))
        rec = tp / max(1.0, float((y == c).sum()))
        f1.append(0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec))
    return float(np.mean(f1))


def quadrant_metrics(y: np.ndarray, qprobs: np.ndarray) -> dict[str, Any]:
    """Figures of quadrant probabilities ``qprobs`` (N, 4) over QUADRANTS against true
    quadrant indices ``y`` (N,). The 4-class figures read the most probable quadrant; valence
    and arousal accuracy read where ``from_quadrant_probs`` places the track (the sign of its
    valence and arousal), which is what the ranking uses: Q1+Q4 positive valence, Q1+Q2 high
    arousal."""
    y = np.asarray(y, int)
    pred = np.asarray(qprobs).argmax(axis=1)
    confusion = np.zeros((4, 4), int)
    np.add.at(confusion, (y, pred), 1)
    va = from_quadrant_probs(qprobs)[:, 7:]
    true_va = QUADRANT_VA[y]
    return {
        "n": int(len(y)),
        "accuracy": round(float((y == pred).mean()), 4) if len(y) else 0.0,
        "macro_f1": round(_macro_f1(y, pred, 4), 4),
        "per_class_recall": {q: round(float(confusion[i, i] / max(1, confusion[i].sum())), 4)
                             for i, q in enumerate(QUADRANTS)},
        "valence_accuracy": round(float(((va[:, 0] > 0) == (true_va[:, 0] > 0)).mean()), 4) if len(y) else 0.0,
        "arousal_accuracy": round(float(((va[:, 1] > 0) == (true_va[:, 1] > 0)).mean()), 4) if len(y) else 0.0,
        "confusion": confusion.tolist(),
    }


def main(data: Path, model: Path) -> dict[str, Any]:
    """DIR/labels.csv has ``file`` (relative to DIR, or absolute) and ``quadrant`` (Q1..Q4).
    Prints a summary and, as the last line, one JSON object with n, accuracy, macro_f1,
    per_class_recall, valence_accuracy, arousal_accuracy (see ``quadrant_metrics``), confusion,
    failed and s_per_track (CPU seconds per track for the whole analysis)."""
    with open(data / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    net = MusicEmotionModel(model)
    y, qprobs, failed = [], [], []
    cpu = 0.0
    for row in rows:
        t0 = time.process_time()
        try:
            features = analyse(data / row["file"], net)
        except DecodeError as exc:
            failed.append((row["file"], str(exc)))
            continue
        cpu += time.process_time() - t0
        y.append(QUADRANTS.index(row["quadrant"]))
        qprobs.append(features.quadrant_probs)
    result = quadrant_metrics(np.array(y, int), np.array(qprobs, np.float32).reshape(-1, 4))
    result.update(failed=len(failed), s_per_track=round(cpu / max(1, len(y)), 3))
    for path, reason in failed:
        print(f"failed: {path}: {reason}")
    print("confusion (rows: true Q1..Q4, columns: predicted):")
    for q, line in zip(QUADRANTS, result["confusion"], strict=True):
        print(f"  {q} {' '.join(f'{v:4d}' for v in line)}")
    print(json.dumps(result))
    return result
