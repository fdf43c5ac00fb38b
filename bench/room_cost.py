"""The daemon's CPU share in an empty room (by hand, not in CI): the real daemon process watches
a video of a still, empty room for N minutes at the shipped sampling interval.

The room is made with OpenCV from a real frame (``evaluation/room.py``: a frame of
``faces/media/no_face.mp4`` held still, every video frame with its own sensor noise and exposure
flicker), written as a 1 fps video stepped one frame per sample and looped. The daemon runs with
a local Mosquitto, the microphone and the player off and an empty library, so what it spends is
the camera path and its idle loops. The share is the daemon's user + system CPU time (from
/proc) over the wall time, after a settling minute.

    .venv/bin/python bench/room_cost.py [--minutes 10] [--python /work/main/.venv/bin/python]

``--python`` runs another checkout's daemon (its venv's interpreter) on the same room, for a
before/after pair; run both in one session, one after the other, and state the load.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "daemon"))
SHARED = REPO.parent / "shared" / "data"

from tests.broker import Broker, free_port  # noqa: E402

from moodshuffle.evaluation.room import room_background, sample  # noqa: E402

SETTLE_S = 60.0
CLOCK = os.sysconf("SC_CLK_TCK")


def empty_room_video(out: Path, frames: int = 60, seed: int = 0) -> Path:
    """``frames`` samples of the still room as a 1 fps MJPEG AVI (OpenCV writes it with no codec library)."""
    room, rng = room_background(SHARED / "faces"), np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 1.0, (room.shape[1], room.shape[0]))
    for _ in range(frames):
        writer.write(sample(room, rng))
    writer.release()
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK  # utime, stime


def run(python: str, minutes: float, video: Path, folder: Path, settle_s: float = SETTLE_S) -> dict[str, object]:
    broker = Broker(folder, free_port()).start()
    music = folder / "music"
    music.mkdir(exist_ok=True)
    cfg = {
        "device_id": "roomcost",
        "camera": {"source": str(video), "loop": True, "realtime": False},
        "microphone": {"enabled": False},
        "player": {"enabled": False},
        "library": {"paths": [str(music)], "index_path": str(folder / "index.sqlite3"), "scan_on_start": False},
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
    }
    (folder / "room.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(folder / "log", "w") as log:
        proc = subprocess.Popen([python, "-m", "moodshuffle", "-c", str(folder / "room.yaml"), "run"],
                                stdout=subprocess.DEVNULL, stderr=log, env=env)
    try:
        time.sleep(settle_s)
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(minutes * 60)
        c1, t1 = cpu_seconds(proc.pid), time.monotonic()
        alive = proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        broker.stop()
    interval = 2.0  # the shipped camera.interval_s
    return {"python": python, "alive": alive, "minutes": minutes,
            "cpu_share_pct": round(100 * (c1 - c0) / (t1 - t0), 3),
            "cpu_ms_per_sample": round(1000 * (c1 - c0) / ((t1 - t0) / interval), 2),
            "load": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--settle-s", type=float, default=SETTLE_S)
    parser.add_argument("--python", action="append", default=None,
                        help="interpreter of a checkout's venv to run the daemon with (repeatable; "
                             "default: this checkout's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        video = empty_room_video(Path(tmp) / "empty_room.avi")
        for i, python in enumerate(args.python or [str(REPO / ".venv" / "bin" / "python")]):
            folder = Path(tmp) / f"run{i}"
            folder.mkdir()
            print(json.dumps(run(python, args.minutes, video, folder, args.settle_s)), flush=True)


if __name__ == "__main__":
    main()
