"""Camera path per sampled 640x480 frame, ours against the fer-style peer (Haar cascade + `fer`'s
int8 model, ``../shared/tools/fer_peer.py``), interleaved in one run on one core:

- a face: the single-face photo in a room-sized frame (the full search finds it in the whole frame);
- an empty room: the still room of ``evaluation/room.py`` (a real frame, its own noise per sample)
  through ``RoomWatch`` as the daemon runs it, averaged over whole cycles of FULL_EVERY samples
  (cheap looks, the whole-frame passes and the periodic full search), and the full search alone;
- a person entering: the first sample with a person in the room after it had gone quiet (the
  cheap look escalates to the full search of that frame).

    .venv/bin/python bench/bench_camera.py --peer-python PEER/bin/python --fer-data PEER/fer/data [--cycles 2]

PEER: the set-up in ``../shared/tools/fer_peer.py`` (a venv with OpenCV 4: OpenCV 5 has no Haar
cascade). The peer runs in its own process, fed each frame right after ours through a pipe.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO / "daemon"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from moodshuffle.config import CameraConfig, ModelsConfig  # noqa: E402
from moodshuffle.evaluation.room import room_background, sample, with_person  # noqa: E402
from moodshuffle.perceive.faces import FaceAnalyzer  # noqa: E402
from moodshuffle.perceive.room import EMPTY_BEFORE_WATCH, FULL_EVERY, Look  # noqa: E402
from moodshuffle.perceive.watch import RoomWatch  # noqa: E402


def frame_640x480() -> np.ndarray:
    """A 640x480 frame with one face: the single-face photo scaled into a living-room-sized frame."""
    img = cv2.imread(str(SHARED / "data" / "faces" / "media" / "single_face.jpg"))
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[90:385, 170:470] = cv2.resize(img, (300, 295))
    return frame


#: the peer's side of the pipe: frames in (shape header, then the bytes), its ms and face count out
PEER_LOOP = """
import sys, time, numpy as np
sys.path.insert(0, sys.argv[2])
from fer_peer import FerPeer
peer, inp = FerPeer(sys.argv[1]), sys.stdin.buffer
while header := inp.read(12):
    h, w, c = np.frombuffer(header, np.int32)
    frame = np.frombuffer(inp.read(int(h * w * c)), np.uint8).reshape(h, w, c)
    t0 = time.perf_counter(); faces = peer.read(frame); ms = (time.perf_counter() - t0) * 1000
    print(ms, len(faces), flush=True)
"""


class Peer:
    """The fer-style peer in its own interpreter (its venv has OpenCV 4, which still has the Haar
    cascade); frames go to it through a pipe, never to disk, and it times each one itself."""

    def __init__(self, python: str, fer_data: str) -> None:
        self.proc = subprocess.Popen([python, "-c", PEER_LOOP, fer_data, str(SHARED / "tools")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env={**os.environ, "OMP_NUM_THREADS": "1"})

    def read(self, frame: np.ndarray) -> tuple[float, int]:
        """(ms the peer spent on ``frame``, faces it found)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(np.array(frame.shape, np.int32).tobytes() + np.ascontiguousarray(frame).tobytes())
        self.proc.stdin.flush()
        ms, faces = self.proc.stdout.readline().split()
        return float(ms), int(faces)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def quiet_watch(analyzer: FaceAnalyzer, room: np.ndarray, rng: np.random.Generator) -> RoomWatch:
    """A RoomWatch that has seen the room empty long enough to be on cheap looks."""
    watch = RoomWatch(analyzer)
    for t in range(EMPTY_BEFORE_WATCH + 1):
        watch.analyze(sample(room, rng), float(t))
    assert watch.last_look is Look.MOTION
    return watch


def summary(name: str, ours: list[float], peer: list[float]) -> str:
    return (f"{name}: ours mean {np.mean(ours):.2f} ms (median {np.median(ours):.2f}, p95 "
            f"{np.percentile(ours, 95):.2f}), peer mean {np.mean(peer):.2f} ms (median {np.median(peer):.2f}); "
            f"peer / ours {np.mean(peer) / np.mean(ours):.1f}x (means), n={len(ours)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fer-data", required=True)
    parser.add_argument("--peer-python", required=True, help="the peer venv's interpreter (OpenCV 4)")
    parser.add_argument("--cycles", type=int, default=2, help=f"empty-room cycles of {FULL_EVERY} samples")
    parser.add_argument("--entering", type=int, default=30, help="person-entering trials")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print(f"OpenCV {cv2.__version__}, load {os.getloadavg()}")
    analyzer = FaceAnalyzer(CameraConfig(), ModelsConfig())
    peer = Peer(args.peer_python, args.fer_data)
    rng = np.random.default_rng(0)
    room, face = room_background(SHARED / "data" / "faces"), frame_640x480()
    photo = cv2.imread(str(SHARED / "data" / "faces" / "media" / "single_face.jpg"))
    photo_px = max(analyzer.detector.detect(photo), key=lambda d: d.size).size
    person = with_person(room, photo, photo_px, 80, (0.6, 0.45))
    assert len(analyzer.analyze(face, 0.0)) == 1 and analyzer.analyze(room, 0.0) == []

    # a face, and the full search of the empty room (as every sample of it cost before the watch)
    watch_face = RoomWatch(analyzer)
    rows: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in ("face", "full", "empty", "entering")}
    for _ in range(100):
        f = sample(face, rng)
        rows["face"][0].append(timed(lambda f=f: watch_face.analyze(f, 0.0)))
        rows["face"][1].append(peer.read(f)[0])
        e = sample(room, rng)
        rows["full"][0].append(timed(lambda e=e: analyzer.analyze(e, 0.0)))
        rows["full"][1].append(peer.read(e)[0])
    # the empty room as the daemon sees it: whole cycles, so the periodic full searches count
    watch = quiet_watch(analyzer, room, rng)
    looks, cpu = [], 0.0
    for _ in range(args.cycles * FULL_EVERY):
        e = sample(room, rng)
        c0 = time.process_time()
        rows["empty"][0].append(timed(lambda e=e: watch.analyze(e, 0.0)))
        cpu += time.process_time() - c0
        looks.append(watch.last_look)
        rows["empty"][1].append(peer.read(e)[0])
    for _ in range(args.entering):
        watch = quiet_watch(analyzer, room, rng)
        p = sample(person, rng)
        rows["entering"][0].append(timed(lambda p=p, w=watch: w.analyze(p, 0.0)))
        assert watch.last_look is Look.FULL
        rows["entering"][1].append(peer.read(p)[0])
    print(summary("a face", *rows["face"]))
    print(summary("empty room, cheap looks (the daemon)", *rows["empty"]))
    print(f"  looks: {', '.join(f'{k} {looks.count(k)}' for k in Look)}; CPU time (not wall) per sample "
          f"{1000 * cpu / len(looks):.2f} ms")
    print(summary("empty room, full search every sample", *rows["full"]))
    print(summary("person entering (first sample)", *rows["entering"]))
    print(f"load {os.getloadavg()}")
    peer.close()


if __name__ == "__main__":
    main()
