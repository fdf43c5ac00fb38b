"""CPU seconds per track for the whole analysis (decode, model, tempo/key/energy), one thread.

    .venv/bin/python bench/bench_scan.py [--tracks 60]

Budget (issue 5): at most 1 s of CPU per track on the development machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "daemon"))

import numpy as np  # noqa: E402

from moodshuffle.config import ModelsConfig  # noqa: E402
from moodshuffle.library.analysis import analyse  # noqa: E402
from moodshuffle.library.music_model import MusicEmotionModel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=60)
    args = parser.parse_args()
    with open(SHARED / "music-4q" / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:: 720 // args.tracks][: args.tracks]
    model = MusicEmotionModel(Path(ModelsConfig().music))
    analyse(SHARED / "music-4q" / rows[0]["file"], model)  # warm-up
    cpu = []
    for r in rows:
        t0 = time.process_time()
        analyse(SHARED / "music-4q" / r["file"], model)
        cpu.append(time.process_time() - t0)
    print(f"{len(cpu)} clips (~30 s each): CPU per track median {np.median(cpu):.3f} s, "
          f"p95 {np.percentile(cpu, 95):.3f} s, max {max(cpu):.3f} s")


if __name__ == "__main__":
    main()
