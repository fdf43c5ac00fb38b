"""A flood of invalid commands against the real daemon and a real Mosquitto (by hand, not in CI):
the daemon's memory before and after, the log lines it wrote, and how late the next valid command
is handled (issue 28, item 4).

The daemon runs with the camera and microphone off, libVLC on a dummy output and an empty library
(nothing but the MQTT path is exercised). A paho client publishes ``--rate`` invalid volume
commands a second (QoS 0) for ``--seconds``; then one valid ``volume/set``, timed until the
daemon's state shows the new volume.

    .venv/bin/python bench/bench_command_flood.py [--rate 5000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
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

from tests.broker import Broker, free_port  # noqa: E402

BASE = "moodshuffle/flood"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class States:
    """The volume of every state the daemon publishes, with its arrival time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.volumes: list[tuple[float, int]] = []
        self.errors = 0

    def on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        payload = json.loads(msg.payload)
        with self.lock:
            if msg.topic.endswith("/state"):
                self.volumes.append((time.monotonic(), int(payload["player"]["volume"])))
            elif payload.get("type") == "error":
                self.errors += 1

    def volume_at_or_after(self, t0: float, volume: int) -> float | None:
        with self.lock:
            return next((t for t, v in self.volumes if t >= t0 and v == volume), None)


def flood(port: int, rate: int, seconds: float) -> int:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent = 0
    start = time.monotonic()
    while (now := time.monotonic()) - start < seconds:
        due = int((now - start) * rate)
        while sent < due:
            client.publish(f"{BASE}/volume/set", "300", qos=0)
            sent += 1
        time.sleep(0.001)
    client.loop_stop()
    client.disconnect()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "music").mkdir()
        broker = Broker(folder, free_port()).start()
        cfg = {
            "device_id": "flood", "log_level": "INFO",
            "camera": {"enabled": False}, "microphone": {"enabled": False},
            "library": {"paths": [str(folder / "music")], "index_path": str(folder / "index.sqlite3")},
            "player": {"vlc_args": ["--aout=dummy", "--quiet"]},
            "mqtt": {"host": "127.0.0.1", "port": broker.port},
        }
        (folder / "flood.yaml").write_text(yaml.safe_dump(cfg))
        states = States()
        watcher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        watcher.on_message = states.on_message
        watcher.connect("127.0.0.1", broker.port)
        watcher.subscribe([(f"{BASE}/state", 0), (f"{BASE}/event", 0)])
        watcher.loop_start()
        log = folder / "log"
        with open(log, "w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "moodshuffle", "-c", str(folder / "flood.yaml"), "run"],
                                    stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + 60
            while not states.volumes and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(5)
            before = rss_mb(proc.pid)
            lines_before = len(log.read_text().splitlines())
            sent = flood(broker.port, args.rate, args.seconds)
            after_flood = rss_mb(proc.pid)
            t0 = time.monotonic()
            sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
            sender.connect("127.0.0.1", broker.port)
            sender.loop_start()
            sender.publish(f"{BASE}/volume/set", "37", qos=1).wait_for_publish(5)
            arrived = None
            while arrived is None and time.monotonic() < t0 + 120:
                arrived = states.volume_at_or_after(t0, 37)
                time.sleep(0.005)
            sender.loop_stop()
            time.sleep(5)
            settled = rss_mb(proc.pid)
            lines = log.read_text().splitlines()[lines_before:]
            alive = proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
            watcher.loop_stop()
            broker.stop()
    print(json.dumps({
        "sent": sent, "rate": args.rate, "seconds": args.seconds, "alive": alive,
        "rss_mb_before": round(before, 1), "rss_mb_after_flood": round(after_flood, 1),
        "rss_mb_5s_later": round(settled, 1),
        "next_valid_command_ms": None if arrived is None else round((arrived - t0) * 1000, 1),
        "log_lines_during": len(lines), "error_events": states.errors,
    }))


if __name__ == "__main__":
    main()
