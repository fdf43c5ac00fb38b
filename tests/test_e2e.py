"""End to end: the real daemon process on real media, observed over a real Mosquitto.

Camera: a video of a woman going from crying to laughing (played at its own frame rate);
microphone: a real speech file; library: real 4Q clips scanned beforehand; libVLC with a dummy
audio output.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.broker import Broker, free_port
from tests.daemon import BASE, SCANNED_PER_QUADRANT, Watcher

pytestmark = pytest.mark.real


def test_daemon_follows_the_room_end_to_end(shared_data, scanned_library, tmp_path):
    music, index = scanned_library
    broker = Broker(tmp_path, free_port()).start()
    config = {
        "device_id": "e2e",
        "camera": {"source": str(shared_data / "faces" / "media" / "WolfgangLanger_Pexels.mp4"),
                   "interval_s": 0.5, "realtime": True, "loop": False},
        "microphone": {"source": str(shared_data / "speech" / "audio" / "ravdess" / "03-01-05-02-01-01-01.opus"),
                       "loop": True},
        "library": {"paths": [str(music)], "index_path": str(index)},
        "player": {"vlc_args": ["--aout=dummy", "--quiet"], "upcoming": 6},
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
    }
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(config))
    watcher = Watcher(broker.port)
    log = open(tmp_path / "daemon.log", "w")  # noqa: SIM115 - closed in finally, outlives the Popen
    proc = subprocess.Popen([sys.executable, "-m", "moodshuffle", "-c", str(cfg_path), "run"], stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        watcher.find(lambda m: m[1] == f"{BASE}/availability" and m[2] == b"online", 30)
        watcher.find(lambda m: m[1] == "homeassistant/sensor/e2e/mood/config" and m[2], 10)

        # the video ends laughing: the smoothed mood must end happy, through a mood change
        def happy_state(m):
            return m[1] == f"{BASE}/state" and json.loads(m[2])["mood"] == "happy"

        happy_at, _, payload = watcher.find(happy_state, 45)
        state = json.loads(payload)
        assert state["faces"] >= 1 and state["camera"] == "ON" and state["valence"] > 0
        changes = watcher.events("mood_changed")
        assert changes and changes[-1]["to"] == "happy"

        # the queue moved toward the new mood: the reorder after the change sits closer to the
        # happy mood (valence and arousal) than every queue before it
        reorders = watcher.events("queue_reordered")
        last_change = max(i for i, e in enumerate(reorders) if e["reason"] == "mood_changed")
        after = reorders[last_change]

        def distance(e):  # mean distance of the upcoming tracks to the happy mood
            return sum(math.dist((u["valence"], u["arousal"]), (state["valence"], state["arousal"]))
                       for u in e["upcoming"]) / len(e["upcoming"])

        assert all(distance(after) < distance(e) - 0.2 for e in reorders[:last_change]), [
            (e["reason"], round(distance(e), 3)) for e in reorders]
        assert all({"similarity", "transition", "penalty"} <= set(u["parts"]) for u in after["upcoming"])

        # the microphone heard the speech file
        watcher.find(lambda m: m[1] == f"{BASE}/state" and json.loads(m[2])["voice"]["speech_recent"], 20)

        # a policy command takes effect in the next state and reorders the queue
        watcher.client.publish(f"{BASE}/policy/set", "uplift", qos=1)
        watcher.find(lambda m: m[1] == f"{BASE}/state" and json.loads(m[2])["policy"] == "uplift", 10)
        assert any(e["reason"] == "policy_changed" for e in watcher.events("queue_reordered"))
        # a malformed command is rejected on the event topic, and the daemon lives on: the valid
        # command sent after it shows in a state published after the rejection
        watcher.client.publish(f"{BASE}/volume/set", "eleven", qos=1)
        watcher.client.publish(f"{BASE}/volume/set", "55", qos=1)
        rejected_at = watcher.find(lambda m: m[1] == f"{BASE}/event"
                                   and json.loads(m[2]).get("topic") == f"{BASE}/volume/set", 10)[0]
        _, _, payload = watcher.find(lambda m: m[1] == f"{BASE}/state" and m[0] >= rejected_at
                                     and json.loads(m[2])["player"]["volume"] == 55, 10)
        state = json.loads(payload)
        assert state["player"]["state"] == "playing" and state["player"]["track"]["title"]
        assert state["library"]["tracks"] == 4 * SCANNED_PER_QUADRANT
        assert proc.poll() is None

        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        watcher.find(lambda m: m[1] == f"{BASE}/availability" and m[2] == b"offline" and m[0] > t0, 5)
        assert time.monotonic() - t0 < 5
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.close()
        broker.stop()
        log.close()
        print((tmp_path / "daemon.log").read_text()[-4000:])
