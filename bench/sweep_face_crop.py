"""How the crop margin and the dark-frame enhancement change what the camera path reads, on the
labelled full frames in ../shared/data/faces (63 images: too few to tune finely, so only a
coarse grid is tried and a setting is kept only if it wins clearly).

    PYTHONPATH=daemon .venv/bin/python bench/sweep_face_crop.py [MIN_FACE_PX]

Prints, per crop (scale, shift; the CNN alone, no tuning): accuracy on each half of the list; then
face-found rate on the photos darkened to 25/15/8/5% brightness with and without CLAHE;
face-found rate and accuracy with the faces shrunk to 24..120 px in a 640x480 frame.
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
from moodshuffle.domain.emotions import INDEX  # noqa: E402
from moodshuffle.perceive import faces  # noqa: E402


def main() -> None:
    with open(SHARED / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    frames = [cv2.imread(str(SHARED / r["file"])) for r in rows]
    truth = np.array([INDEX[r["emotion"]] for r in rows])
    min_face_px = int(sys.argv[1]) if len(sys.argv) > 1 else CameraConfig().min_face_px
    analyzer = faces.FaceAnalyzer(CameraConfig(min_face_px=min_face_px), ModelsConfig())
    dets = [max(analyzer.detector.detect(f), key=lambda d: d.size) for f in frames]
    grays = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    half = np.arange(len(rows)) % 2 == 0  # two halves by row order, to see if a winner is stable
    print("scale shift  accuracy  half_a  half_b")
    for scale in (1.0, 1.15, 1.3, 1.45):
        for shift in (-0.05, 0.0, 0.05):
            crops = np.stack([faces.align_crop(g, d, scale, shift) for g, d in zip(grays, dets, strict=True)])
            hit = analyzer.expression.predict(crops).argmax(1) == truth
            print(f"{scale:5.2f} {shift:+5.2f}  {hit.mean():.3f}     {hit[half].mean():.3f}   {hit[~half].mean():.3f}")
    print("brightness  found_with_clahe  found_without")
    for factor in (0.25, 0.15, 0.08, 0.05):
        dark = [(f.astype(np.float32) * factor).astype(np.uint8) for f in frames]
        with_clahe = np.mean([len(analyzer.crops(d)) > 0 for d in dark])
        without = np.mean([any(x.size >= analyzer.min_face_px and x.plausible() for x in analyzer.detector.detect(d))
                           for d in dark])
        print(f"{factor:10.2f}  {with_clahe:.3f}             {without:.3f}")
    print(f"face_px_in_640x480  found  read_as_labelled   (min_face_px {min_face_px})")
    for target in (24, 32, 40, 48, 56, 80, 120):
        found, right = 0, 0
        for frame, det, label in zip(frames, dets, truth, strict=True):
            k = target / det.size
            small = cv2.resize(frame, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
            canvas = np.full((480, 640, 3), 110, np.uint8)
            h, w = min(480, small.shape[0]), min(640, small.shape[1])
            canvas[:h, 200 : 200 + min(440, w)] = small[:h, : min(440, w)]
            obs = analyzer.analyze(canvas, 0.0)
            found += bool(obs)
            right += bool(obs) and int(max(obs, key=lambda o: o.face_px).probs.argmax()) == label
        print(f"{target:18d}  {found / len(frames):.3f}  {right / max(1, found):.3f}")


if __name__ == "__main__":
    main()
