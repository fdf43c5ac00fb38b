"""CPU share of the voice path while listening: a looping speech file through the file source
(real time, the same capture/ring-buffer/analysis path as a microphone) for --seconds.

    .venv/bin/python bench/bench_voice.py [--seconds 60]

Budget (issue 8): at most 10% of one core while listening.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "daemon"))

from moodshuffle.config import MicrophoneConfig, ModelsConfig  # noqa: E402
from moodshuffle.sense.microphone import VoiceListener  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    clip = SHARED / "speech" / "audio" / "ravdess" / "03-01-05-02-01-01-01.opus"
    listener = VoiceListener(MicrophoneConfig(source=str(clip), loop=True), ModelsConfig())

    async def go() -> None:
        seen = []
        task = asyncio.create_task(listener.run(seen.append))
        await asyncio.sleep(2)
        c0, t0 = time.process_time(), time.monotonic()
        await asyncio.sleep(args.seconds)
        share = (time.process_time() - c0) / (time.monotonic() - t0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        print(f"voice path: {100 * share:.2f}% of one core over {args.seconds:.0f} s, {len(seen)} observations")

    asyncio.run(go())


if __name__ == "__main__":
    main()
