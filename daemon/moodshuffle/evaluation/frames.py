"""``moodshuffle eval frames DIR``: detection, crop and expression on full frames, exactly as
the camera path runs them."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from moodshuffle.config import Config
from moodshuffle.domain.emotions import EMOTIONS, INDEX
from moodshuffle.perceive.faces import FaceAnalyzer


def main(data: Path, cfg: Config) -> dict[str, Any]:
    """DIR/labels.csv: ``file`` (relative to DIR) and ``emotion`` (class names of EMOTIONS).
    Prints per-image misses, then as the last line one JSON object with n, face_found_rate,
    accuracy (over images with a face; the largest face counts), per_class_recall, ms_per_frame."""
    with open(data / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["emotion"] in INDEX]
    analyzer = FaceAnalyzer(cfg.camera, cfg.models)
    found, correct, times = 0, 0, []
    per_class: dict[str, list[bool]] = {}
    for r in rows:
        frame = cv2.imread(str(data / r["file"]))
        if frame is None:
            print(f"unreadable: {r['file']}")
            continue
        t0 = time.perf_counter()
        obs = analyzer.analyze(frame, 0.0)
        times.append(time.perf_counter() - t0)
        if not obs:
            print(f"no face: {r['file']}")
            continue
        found += 1
        best = max(obs, key=lambda o: o.face_px)
        hit = int(np.argmax(best.probs)) == INDEX[r["emotion"]]
        correct += hit
        per_class.setdefault(r["emotion"], []).append(hit)
        if not hit:
            print(f"{r['file']}: {r['emotion']} read as {EMOTIONS[int(np.argmax(best.probs))]}")
    result = {
        "n": len(rows),
        "face_found_rate": round(found / max(1, len(rows)), 4),
        "accuracy": round(correct / max(1, found), 4),
        "per_class_recall": {k: round(float(np.mean(v)), 4) for k, v in sorted(per_class.items())},
        "ms_per_frame": round(1000 * float(np.median(times)), 2) if times else None,
    }
    print(json.dumps(result))
    return result
