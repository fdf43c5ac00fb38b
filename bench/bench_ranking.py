"""Time to rank the next 10 tracks over libraries of 1k, 10k and 50k tracks (one thread).

    .venv/bin/python bench/bench_ranking.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from tests._tables import random_table  # noqa: E402

from moodshuffle.config import MoodConfig  # noqa: E402
from moodshuffle.decide.ranking import PlayHistory, rank_upcoming  # noqa: E402
from moodshuffle.domain.policy import Policy  # noqa: E402
from moodshuffle.estimate.mood import MoodEstimator  # noqa: E402


def main() -> None:
    cfg = MoodConfig()
    state = MoodEstimator(cfg).update(0.0)
    for n in (1_000, 10_000, 50_000):
        table = random_table(n)
        history = PlayHistory()
        for tid in table.ids[: n // 4]:
            history.record_play(int(tid))
        rng = np.random.default_rng(0)
        rank_upcoming(table, state, Policy.UPLIFT, history, 10, rng, cfg, current=int(table.ids[-1]))  # warm the cache
        times = []
        for i in range(30):
            t0 = time.perf_counter()
            rank_upcoming(table, state, Policy.UPLIFT, history, 10, rng, cfg, current=int(table.ids[-1 - i]))
            times.append((time.perf_counter() - t0) * 1000)
        print(f"{n:>6} tracks: median {np.median(times):6.2f} ms  p95 {np.percentile(times, 95):6.2f} ms")


if __name__ == "__main__":
    main()
