"""State messages per minute through the real daemon (by hand, not in CI): what Home Assistant's
recorder writes for a still face, a changing face and an empty room.

Each scene is a video made with ffmpeg from the shared photos (one frame per second, stepped one
frame per camera sample, the shipped interval), shown to the daemon with a local Mosquitto, libVLC
on a dummy output and a small scanned library playing. A subscriber counts the retained `state`
messages per minute after a settling minute, and for every `mood_changed` event the delay until a
state naming the new mood arrives.

    .venv/bin/python bench/state_rate.py --minutes 5 [--scenes still,changing,empty]

Target (issue 29): a still face costs at most 12 state messages a minute; a change of mood is
published within 1 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

from tests.broker import Broker, free_port  # noqa: E402

POSED = SHARED / "faces" / "posed"
PERFORMER = "02"
SETTLE_S = 60.0


def posed_photo(emotion: str) -> Path:
    with open(POSED / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["performer"] == PERFORMER and row["emotion"] == emotion:
                return POSED / row["file"]
    raise SystemExit(f"no {emotion} photo of performer {PERFORMER}")


def make_video(out: Path, photos: list[tuple[Path, float]]) -> Path:
    """A 1 fps video showing each photo for its seconds, in order."""
    listing = out.with_suffix(".txt")
    lines = []
    for photo, seconds in photos:
        lines += [f"file '{photo}'", f"duration {seconds}"]
    lines.append(f"file '{photos[-1][0]}'")  # ffmpeg's concat demuxer needs the last file twice
    listing.write_text("\n".join(lines) + "\n")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-vf", "fps=1,scale=640:-2,format=yuv420p", "-c:v", "libx264", str(out)], check=True)
    return out


def scene_video(name: str, folder: Path, minutes: float) -> Path:
    seconds = minutes * 60 + SETTLE_S + 30
    if name == "still":
        return make_video(folder / "still.mp4", [(posed_photo("neutral"), seconds)])
    if name == "changing":
        order = ["neutral", "happy", "neutral", "sad", "neutral", "angry", "surprise", "neutral"]
        block = 40.0  # seconds of video per expression (80 s of wall time at one frame per 2 s sample)
        photos = [(posed_photo(order[i % len(order)]), block) for i in range(int(seconds // block) + 1)]
        return make_video(folder / "changing.mp4", photos)
    if name == "empty":
        return SHARED / "faces" / "media" / "no_face.mp4"
    raise SystemExit(f"unknown scene {name!r}")


class Counter:
    """Counts state messages (after the settling time) and times each mood change's state."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.states: list[float] = []
        self.pending: dict[str, float] = {}
        self.delays: list[float] = []

    def on_message(self, _client: object, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic() - self.t0
        if msg.retain and msg.topic.endswith("/state"):
            return  # the retained copy a new subscription is handed, not a publication
        payload = json.loads(msg.payload)
        with self.lock:
            if msg.topic == f"{self.base}/state":
                self.states.append(now)
                mood = payload.get("mood")
                if mood in self.pending:
                    self.delays.append(now - self.pending.pop(mood))
            elif msg.topic == f"{self.base}/event" and payload.get("type") == "mood_changed":
                self.pending[str(payload.get("to"))] = now


def run_scene(name: str, minutes: float, music: Path, index: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = scene_video(name, folder, minutes)
        broker = Broker(folder, free_port()).start()
        cfg = {
            "device_id": "rate",
            "camera": {"source": str(video), "loop": True, "realtime": False},
            "microphone": {"enabled": False},
            "library": {"paths": [str(music)], "index_path": str(index), "scan_on_start": True},
            "player": {"vlc_args": ["--aout=dummy", "--quiet"]},
            "mqtt": {"host": "127.0.0.1", "port": broker.port},
        }
        (folder / "rate.yaml").write_text(yaml.safe_dump(cfg))
        counter = Counter("moodshuffle/rate")
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.on_message = counter.on_message
        client.connect("127.0.0.1", broker.port)
        client.subscribe([("moodshuffle/rate/state", 0), ("moodshuffle/rate/event", 0)])
        client.loop_start()
        proc = subprocess.Popen([sys.executable, "-m", "moodshuffle", "-c", str(folder / "rate.yaml"), "run"],
                                stdout=subprocess.DEVNULL, stderr=open(folder / "log", "w"))  # noqa: SIM115
        try:
            time.sleep(SETTLE_S + minutes * 60)
            alive = proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
            client.loop_stop()
            broker.stop()
    with counter.lock:
        counted = [t for t in counter.states if t >= SETTLE_S]
        per_minute = [sum(1 for t in counted if SETTLE_S + 60 * m <= t < SETTLE_S + 60 * (m + 1))
                      for m in range(int(minutes))]
        delays = sorted(counter.delays)
    return {"scene": name, "alive": alive, "minutes": minutes, "states": len(counted),
            "per_minute": per_minute, "mean_per_minute": round(len(counted) / minutes, 1),
            "mood_changes": len(delays), "max_change_delay_s": round(delays[-1], 2) if delays else None}


def scanned_library(folder: Path, clips: int = 6) -> tuple[Path, Path]:
    """A few 4Q clips copied into a folder and scanned once (each scene's daemon rescans for nothing)."""
    music = folder / "music"
    music.mkdir()
    for clip in sorted((SHARED / "music-4q" / "audio").rglob("*.*"))[:clips]:
        shutil.copy(clip, music / clip.name)
    index = folder / "index.sqlite3"
    cfg = folder / "scan.yaml"
    cfg.write_text(yaml.safe_dump({"library": {"paths": [str(music)], "index_path": str(index)}}))
    subprocess.run([sys.executable, "-m", "moodshuffle", "-c", str(cfg), "scan"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return music, index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--scenes", default="still,changing,empty")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        music, index = scanned_library(Path(tmp))
        for name in args.scenes.split(","):
            print(json.dumps(run_scene(name, args.minutes, music, index)), flush=True)


if __name__ == "__main__":
    main()
