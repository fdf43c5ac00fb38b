"""The daemon with no camera and no broker: it keeps running, says the camera is unavailable,
plays music, and connects when the broker appears."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.broker import Broker, free_port
from tests.daemon import BASE, Watcher

pytestmark = pytest.mark.real


def test_missing_camera_and_late_broker_degrade_but_never_crash(scanned_library, tmp_path):
    music, index = scanned_library
    port = free_port()
    config = {
        "device_id": "e2e",
        "camera": {"source": "/dev/video77", "interval_s": 0.5},
        "microphone": {"enabled": False},
        "library": {"paths": [str(music)], "index_path": str(index)},
        "player": {"vlc_args": ["--aout=dummy", "--quiet"]},
        "mqtt": {"host": "127.0.0.1", "port": port},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    log = tmp_path / "daemon.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moodshuffle", "-c", str(path), "run"], stdout=out,
                                stderr=subprocess.STDOUT)
    broker = watcher = None
    try:
        # running without a broker and with the camera already given up on once
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and not (
                "running as" in log.read_text() and "camera '/dev/video77' unavailable" in log.read_text()):
            time.sleep(0.1)
        assert proc.poll() is None, log.read_text()
        assert "running as" in log.read_text(), log.read_text()
        broker = Broker(tmp_path, port).start()
        watcher = Watcher(port)
        watcher.find(lambda m: m[1] == f"{BASE}/availability" and m[2] == b"online", 30)
        _, _, payload = watcher.find(lambda m: m[1] == f"{BASE}/state", 10)
        state = json.loads(payload)
        assert state["camera"] == "unavailable"
        assert state["microphone"] == "OFF"
        assert state["player"]["state"] == "playing"
        assert state["mood"] == "neutral" and state["faces"] == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        if watcher is not None:
            watcher.close()
        if broker is not None:
            broker.stop()
    text = log.read_text()
    assert "camera '/dev/video77' unavailable" in text and "Traceback" not in text
