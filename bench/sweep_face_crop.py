"""How the crop margin and the dark-frame enhancement change what the camera path reads, on the
labelled full frames in ../shared/data/faces (63 images: too few to tune finely, so only a
coarse grid is tried and a setting is kept only if it wins clearly).

    PYTHONPATH=daemon .venv/bin/python bench/sweep_face_crop.py

Prints, per (CROP_SCALE, CROP_SHIFT_Y): accuracy and the per-subject-group accuracy spread; then
face-found rate on the photos darkened to 25/15/8% brightness with and without CLAHE.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "faces"
sys.path.insert(0, str(REPO / "daemon"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from moodshuffle.config import CameraConfig, ModelsConfig  # noqa: E402
from moodshuffle.emotions import INDEX  # noqa: E402
from moodshuffle.perceive import faces  # noqa: E402


def main() -> None:
    with open(SHARED / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    frames = [cv2.imread(str(SHARED / r["file"])) for r in rows]
    truth = np.array([INDEX[r["emotion"]] for r in rows])
    analyzer = faces.FaceAnalyzer(CameraConfig(), ModelsConfig())
    dets = [max(analyzer.detector.detect(f), key=lambda d: d.size) for f in frames]
    grays = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    half = np.arange(len(rows)) % 2 == 0  # two halves by row order, to see if a winner is stable
    print("scale shift  accuracy  half_a  half_b")
    for scale in (1.0, 1.15, 1.3, 1.45):
        for shift in (-0.05, 0.0, 0.05):
            faces.CROP_SCALE, faces.CROP_SHIFT_Y = scale, shift
            crops = np.stack([faces.align_crop(g, d) for g, d in zip(grays, dets, strict=True)])
            hit = analyzer.expression.predict(crops).argmax(1) == truth
            print(f"{scale:5.2f} {shift:+5.2f}  {hit.mean():.3f}     {hit[half].mean():.3f}   {hit[~half].mean():.3f}")
    print("brightness  found_with_clahe  found_without")
    for factor in (0.25, 0.15, 0.08, 0.05):
        dark = [(f.astype(np.float32) * factor).astype(np.uint8) for f in frames]
        with_clahe = np.mean([len(analyzer.crops(d)) > 0 for d in dark])
        without = np.mean([any(x.size >= analyzer.min_face_px and x.plausible() for x in analyzer.detector.detect(d))
                           for d in dark])
        print(f"{factor:10.2f}  {with_clahe:.3f}             {without:.3f}")


if __name__ == "__main__":
    main()
