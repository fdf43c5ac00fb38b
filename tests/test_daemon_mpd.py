"""The real daemon with ``player.backend: mpd``: a real MPD (null output) whose music directory is
the scanned 4Q library, real Mosquitto, the listening history in a real index. A mood set by MQTT
reorders the songs after the current one in MPD's queue while the current one plays on; a skip
and a like reach the history; a track MPD does not know is skipped and reported, the music goes
on; on Mopidy (mopidy-mpd, file backend) the daemon plays and follows the mood the same way."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

from moodshuffle.domain.history import FeedbackKind, PlayOutcome
from moodshuffle.library.history import ListeningHistory
from tests.broker import Broker, free_port
from tests.daemon import BASE, Watcher
from tests.mpd_server import MpdServer

pytestmark = pytest.mark.real


def _start(tmp_path: Path, music: Path, index: Path, broker: Broker, server: MpdServer) -> subprocess.Popen:
    mpd = {"host": "127.0.0.1", "port": server.port}
    if not server.mopidy:
        mpd["music_directory"] = str(music)
    config = {"device_id": "e2e", "camera": {"enabled": False}, "microphone": {"enabled": False},
              "library": {"paths": [str(music)], "index_path": str(index)},
              "player": {"backend": "mpd", "mpd": mpd}, "mqtt": {"host": "127.0.0.1", "port": broker.port}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    with open(tmp_path / "daemon.log", "a") as out:
        return subprocess.Popen([sys.executable, "-m", "moodshuffle", "-c", str(path), "run"], stdout=out,
                                stderr=subprocess.STDOUT)


def _events(watcher: Watcher, kind: str, after: float = 0.0) -> list[dict]:
    with watcher.lock:
        out = [json.loads(p) for t0, t, p in watcher.messages if t == f"{BASE}/event" and t0 >= after]
    return [e for e in out if e["type"] == kind]


def _wait(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return value


def _state(watcher: Watcher) -> dict:
    with watcher.lock:
        return json.loads(next(p for _, t, p in reversed(watcher.messages) if t == f"{BASE}/state"))


def _mpd_queue(server: MpdServer) -> tuple[int, list[str]]:
    """(current song id, the files after it)."""
    c = server.client()
    try:
        status, queue = c.status(), c.playlistinfo()
    finally:
        c.disconnect()
    return int(status.get("songid", -1)), [s["file"] for s in queue[int(status.get("song", -1)) + 1:]]


def _names(index: Path, music: Path, files: list[str]) -> list[tuple[str, str]]:
    """(artist, title) of MPD's files, from the index (as the state names the upcoming tracks)."""
    with contextlib.closing(sqlite3.connect(index)) as db:
        by_path = {p: (a, t) for p, a, t in db.execute("SELECT path, artist, title FROM tracks")}
    return [by_path[unquote(f.removeprefix("file://")) if f.startswith("file://") else str(music / f)] for f in files]


def _upcoming(state: dict) -> list[tuple[str, str]]:
    return [(u["artist"], u["title"]) for u in state["upcoming"]]


def _follows_the_mood(watcher: Watcher, server: MpdServer, index: Path, music: Path, mood: str) -> int:
    """Set ``mood``; MPD's songs after the current one become the new upcoming list, the current
    song plays on. Returns MPD's current song id."""
    before, _ = _mpd_queue(server)
    t0 = time.monotonic()
    watcher.client.publish(f"{BASE}/mood/set", mood, qos=1)
    _wait(lambda: [e for e in _events(watcher, "queue_reordered", t0) if e["reason"] == "mood_changed"], 10,
          "no reorder for the mood")
    # MPD follows the daemon's list (a track MPD does not know leaves it: wait for it to settle)
    _wait(lambda: _names(index, music, _mpd_queue(server)[1]) == _upcoming(_state(watcher)), 10,
          f"MPD's queue {_mpd_queue(server)[1]} is not the daemon's upcoming list {_upcoming(_state(watcher))}")
    current, _ = _mpd_queue(server)
    assert current == before, "the song playing was cut"
    return current


def test_the_daemon_drives_mpd_mood_reorders_skip_like_and_a_missing_track(scanned_library, tmp_path):
    music, index = scanned_library
    # MPD does not know Q1's files: .mpdignore hides them from its database, then goes (the folder
    # is the session's scanned library, read by other tests)
    ignore = music / ".mpdignore"
    ignore.write_text("Q1\n")
    try:
        server = MpdServer(tmp_path / "mpd", music).start()
    finally:
        ignore.unlink()
    broker = Broker(tmp_path, free_port()).start()
    watcher = Watcher(broker.port)
    proc = _start(tmp_path, music, index, broker, server)
    try:
        _wait(lambda: _events(watcher, "track_started"), 30, "no track started")
        _follows_the_mood(watcher, server, index, music, "sad")
        assert _state(watcher)["player"]["chosen_elsewhere"] is False
        n = len(_events(watcher, "track_started"))
        watcher.client.publish(f"{BASE}/player/set", "next", qos=1)
        _wait(lambda: len(_events(watcher, "track_started")) > n, 15, "no track started after next")
        time.sleep(0.5)
        watcher.client.publish(f"{BASE}/feedback/set", "like", qos=1)
        _wait(lambda: _events(watcher, "feedback"), 10, "no feedback event")
        # a person's pause, play, volume and choice in an MPD client show in the state
        person = server.client()
        person.pause(1)
        _wait(lambda: _state(watcher)["player"]["state"] == "paused", 5, "MPD's pause is not in the state")
        person.play()
        _wait(lambda: _state(watcher)["player"]["state"] == "playing", 5, "MPD's play is not in the state")
        person.setvol(40)
        _wait(lambda: _state(watcher)["player"]["volume"] == 40, 5, "MPD's volume is not in the state")
        queued = {s["file"] for s in person.playlistinfo()}
        chosen = next(f for f in (e["file"] for e in person.listall() if "file" in e) if f not in queued)
        person.playid(person.addid(chosen))
        person.disconnect()
        _wait(lambda: _state(watcher)["player"]["chosen_elsewhere"], 5, "the person's choice is not in the state")
        track = _state(watcher)["player"]["track"]
        assert [(track["artist"], track["title"])] == _names(index, music, [chosen])
        # happy wants Q1: MPD cannot queue those, each is skipped and reported, the music goes on
        watcher.client.publish(f"{BASE}/mood/set", "happy", qos=1)
        errors = _wait(lambda: [e for e in _events(watcher, "error") if e.get("source") == "player"], 15,
                       "no player error for a track MPD does not know")
        assert all("/Q1/" in e["path"] and "MPD" in e["reason"] for e in errors)
        c = server.client()
        assert c.status()["state"] == "play"
        c.disconnect()
        assert _state(watcher)["player"]["state"] == "playing"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        history = ListeningHistory(index, 180)
        plays, feedback = history.plays(), history.feedback_records()
        history.close()
        assert PlayOutcome.SKIPPED in [p.outcome for p in plays]
        assert [f.kind for f in feedback] == [FeedbackKind.LIKE]
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.close()
        broker.stop()
        server.stop()
        print((tmp_path / "daemon.log").read_text()[-4000:])


def test_the_daemon_plays_through_mopidy_and_follows_the_mood(scanned_library, tmp_path):
    music, index = scanned_library
    server = MpdServer(tmp_path / "mopidy", music, mopidy=True).start()
    broker = Broker(tmp_path, free_port()).start()
    watcher = Watcher(broker.port)
    proc = _start(tmp_path, music, index, broker, server)
    try:
        _wait(lambda: _events(watcher, "track_started"), 30, "no track started")
        _follows_the_mood(watcher, server, index, music, "sad")
        n = len(_events(watcher, "track_started"))
        watcher.client.publish(f"{BASE}/player/set", "next", qos=1)
        _wait(lambda: len(_events(watcher, "track_started")) > n, 15, "no track started after next")
        assert not [e for e in _events(watcher, "error") if e.get("source") == "player"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.close()
        broker.stop()
        server.stop()
        print((tmp_path / "daemon.log").read_text()[-4000:])
