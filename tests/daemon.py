"""Helpers for tests of the real daemon process: a watcher of its MQTT topics, and the scanned
test library (the ``scanned_4q`` session fixture and ``scanned_library``, in conftest.py)."""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from moodshuffle.library.index import connect

#: clips per quadrant in the scanned test library
SCANNED_PER_QUADRANT = 10

BASE = "moodshuffle/e2e"


class Watcher:
    """Collects every message under the daemon's topics and discovery."""

    def __init__(self, port: int, base: str = BASE) -> None:
        self.base = base
        self.messages: list[tuple[float, str, bytes]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *a: c.subscribe([(f"{base}/#", 1), ("homeassistant/#", 1)])
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg) -> None:
        with self.lock:
            self.messages.append((time.monotonic(), msg.topic, msg.payload))

    def find(self, pred, timeout: float) -> tuple[float, str, bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for m in self.messages:
                    if pred(m):
                        return m
            time.sleep(0.1)
        with self.lock:
            seen = [(t, p[:120]) for _, t, p in self.messages[-15:]]
        raise AssertionError(f"not seen within {timeout} s; last messages: {seen}")

    def events(self, kind: str) -> list[dict]:
        with self.lock:
            out = [json.loads(p) for _, t, p in self.messages if t == f"{self.base}/event"]
        return [e for e in out if e["type"] == kind]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def own_index(scanned: Path, folder: Path) -> Path:
    """A copy of the session's scanned index in ``folder``, with no listening history: a test's
    daemon writes its own history there, and no other test sees it."""
    index = folder / "index.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{scanned}{suffix}").exists():
            shutil.copy(f"{scanned}{suffix}", f"{index}{suffix}")
    with contextlib.closing(connect(index)) as db:
        db.execute("DELETE FROM plays")
        db.execute("DELETE FROM feedback")
        db.commit()
    return index
