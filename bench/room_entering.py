"""How many samples until a person walking into an empty room is found, on real frames: the still
room of ``evaluation/room.py`` (a real frame of ``faces/media/no_face.mp4``, its own noise per
sample) for ``--empty`` samples, then one of the labelled photos of ``../shared/data/faces``
pasted in at a random place, its face scaled to each size. Each case runs through ``RoomWatch``
(the daemon's camera path) and through the full search on every sample (as before the watch).

    .venv/bin/python bench/room_entering.py [--empty 20] [--sizes 32,48,80,160]

Target (issue 31): found within 2 samples wherever the full search finds the face.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
FACES = REPO.parent / "shared" / "data" / "faces"
sys.path.insert(0, str(REPO / "daemon"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from moodshuffle.config import CameraConfig, ModelsConfig  # noqa: E402
from moodshuffle.evaluation.room import room_background, samples_until_found, with_person  # noqa: E402
from moodshuffle.perceive.faces import FaceAnalyzer  # noqa: E402
from moodshuffle.perceive.watch import RoomWatch  # noqa: E402

GIVE_UP = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--empty", type=int, default=20, help="empty-room samples before the person")
    parser.add_argument("--sizes", default="32,48,80,160", help="face widths (px) in the 640x480 room")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print(f"load {os.getloadavg()}")
    analyzer = FaceAnalyzer(CameraConfig(), ModelsConfig())
    room = room_background(FACES)
    with open(FACES / "labels.csv", newline="") as f:
        photos = [cv2.imread(str(FACES / r["file"])) for r in csv.DictReader(f)]
    rng = np.random.default_rng(0)
    for size in (int(s) for s in args.sizes.split(",")):
        watch_counts: Counter[int] = Counter()
        full_counts: Counter[int] = Counter()
        late = 0
        for photo in photos:
            photo_px = max(analyzer.detector.detect(photo), key=lambda d: d.size).size
            scene = with_person(room, photo, photo_px, size, (rng.uniform(0.15, 0.85), rng.uniform(0.25, 0.75)))
            seed = int(rng.integers(1 << 31))
            # the full search keeps nothing from sample to sample: the empty samples before cannot matter
            full = samples_until_found(analyzer.analyze, room, scene, 0, np.random.default_rng(seed), GIVE_UP)
            watched = samples_until_found(RoomWatch(analyzer).analyze, room, scene, args.empty,
                                          np.random.default_rng(seed), GIVE_UP)
            full_counts[full] += 1
            watch_counts[watched] += 1
            late += full == 1 and watched > 2
        def show(c: Counter[int]) -> str:
            return ", ".join(f"{'never' if k > GIVE_UP else k}: {v}" for k, v in sorted(c.items()))
        print(f"{size:4d} px, {len(photos)} people: watch (samples until found) {show(watch_counts)}; "
              f"full search every sample {show(full_counts)}; found by the full search at once but by "
              f"the watch only after 2 samples: {late}", flush=True)
    print(f"load {os.getloadavg()}")


if __name__ == "__main__":
    main()
