"""The listener's side of the real daemon (real Mosquitto, real libVLC with dummy audio, real
scanned 4Q clips, the listening history in a real index): what it played and what it was told
survives a restart (even a ``kill -9``), the mood can be set by command with no sensor at all,
and Home Assistant gets buttons, a select, event entities and a next-track sensor."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from moodshuffle.domain.history import FeedbackKind, PlayOutcome
from moodshuffle.library.history import ListeningHistory
from tests.broker import Broker, free_port
from tests.daemon import BASE, Watcher

pytestmark = pytest.mark.real


def _config(tmp_path: Path, music: Path, index: Path, port: int) -> Path:
    """No camera, no microphone: only media, library and broker are set (shipped behaviour)."""
    config = {
        "device_id": "e2e",
        "camera": {"enabled": False},
        "microphone": {"enabled": False},
        "library": {"paths": [str(music)], "index_path": str(index)},
        "player": {"vlc_args": ["--aout=dummy", "--quiet"]},
        "mqtt": {"host": "127.0.0.1", "port": port},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _prepared(music: Path, index: Path, tmp_path: Path) -> tuple[Path, Broker, Path, Path, Watcher]:
    """This test's index, a broker, the daemon's config and log, and a watcher on the broker."""
    broker = Broker(tmp_path, free_port()).start()
    return index, broker, _config(tmp_path, music, index, broker.port), tmp_path / "daemon.log", Watcher(broker.port)


def _start(cfg: Path, log: Path) -> subprocess.Popen:
    with open(log, "a") as out:
        return subprocess.Popen([sys.executable, "-m", "moodshuffle", "-c", str(cfg), "run"], stdout=out,
                                stderr=subprocess.STDOUT)


def _started(watcher: Watcher) -> list[dict]:
    return [e["track"] for e in watcher.events("track_started")]


def _skip(watcher: Watcher, times: int) -> None:
    """Press `next` once the current track is audible, ``times`` times, each awaited."""
    for _ in range(times):
        n = len(_started(watcher))
        watcher.client.publish(f"{BASE}/player/set", "next", qos=1)
        deadline = time.monotonic() + 15
        while len(_started(watcher)) <= n:
            assert time.monotonic() < deadline, "no track started after next"
            time.sleep(0.05)


def _name(track: dict) -> tuple[str, str]:
    return track["artist"], track["title"]


def test_restart_after_kill_keeps_the_no_repeat_window_and_the_feedback(scanned_library, tmp_path):
    music, index = scanned_library
    index, broker, cfg, log, watcher = _prepared(music, index, tmp_path)
    proc = _start(cfg, log)
    try:
        watcher.find(lambda m: m[1] == f"{BASE}/event" and json.loads(m[2])["type"] == "track_started", 30)
        _skip(watcher, 4)
        watcher.client.publish(f"{BASE}/feedback/set", "dislike", qos=1)
        disliked = watcher.find(lambda m: m[1] == f"{BASE}/event" and json.loads(m[2])["type"] == "feedback", 10)
        disliked_track = json.loads(disliked[2])["track"]
        _skip(watcher, 1)
        played = [_name(t) for t in _started(watcher)]
        assert len(set(played)) == len(played) == 6
        proc.kill()  # kill -9: no goodbye, the last play never ends
        proc.wait(10)

        history = ListeningHistory(index, 180)
        plays, feedback = history.plays(), history.feedback_records()
        history.close()
        assert len(plays) == 6
        assert [p.outcome for p in plays] == [PlayOutcome.SKIPPED] * 5 + [None]
        assert [(f.kind, f.path.endswith(Path(p.path).name)) for f, p in zip(feedback, plays[4:5], strict=True)] \
            == [(FeedbackKind.DISLIKE, True)]
        assert all(p.context.label == "neutral" and p.context.policy == "match" for p in plays)

        watcher.close()
        watcher = Watcher(broker.port)
        # the broker still holds the killed daemon's retained state: it arrives first, this one's differ
        _, _, old = watcher.find(lambda m: m[1] == f"{BASE}/state", 10)
        t0 = time.monotonic()
        proc = _start(cfg, log)
        first = watcher.find(lambda m: m[1] == f"{BASE}/event" and m[0] > t0
                             and json.loads(m[2])["type"] == "track_started", 30)
        first_track = json.loads(first[2])["track"]
        # this process's state with its first track: a track that starts as the bridge connects is
        # in the state published before `online`, ahead of its event (events wait for discovery)
        _, _, payload = watcher.find(lambda m: m[1] == f"{BASE}/state" and m[0] > t0 and m[2] != old
                                     and json.loads(m[2])["player"]["track"] == first_track, 10)
        state = json.loads(payload)
        after = [_name(state["player"]["track"])] + [(u["artist"], u["title"]) for u in state["upcoming"]]
        # the tracks just heard do not come back, and the learner came back with what it knew
        assert not set(after) & set(played), (after, played)
        assert _name(disliked_track) not in after
        assert all("taste" in u["parts"] for u in state["upcoming"])
        assert "listening history: 6 plays, 1 likes/dislikes" in log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.close()
        broker.stop()
        print(log.read_text()[-4000:])


def test_set_mood_feedback_and_automation_entities_with_no_sensor(scanned_library, tmp_path):
    music, index = scanned_library
    index, broker, cfg, log, watcher = _prepared(music, index, tmp_path)
    proc = _start(cfg, log)
    try:
        discovery = {}
        for component, obj in [("button", "like"), ("button", "dislike"), ("select", "set_mood"),
                               ("event", "mood_changed"), ("event", "track_started"), ("sensor", "up_next")]:
            _, _, payload = watcher.find(lambda m, c=component, o=obj: m[1] == f"homeassistant/{c}/e2e/{o}/config"
                                         and m[2], 30)
            discovery[obj] = json.loads(payload)
        assert discovery["like"]["command_topic"] == f"{BASE}/feedback/set"
        assert discovery["set_mood"]["options"][0] == "auto" and "sad" in discovery["set_mood"]["options"]
        assert discovery["mood_changed"]["state_topic"] == f"{BASE}/event/mood"
        _, _, payload = watcher.find(lambda m: m[1] == f"{BASE}/state"
                                     and json.loads(m[2])["player"]["state"] == "playing", 30)
        sensed = json.loads(payload)
        assert (sensed["mood"], sensed["mood_source"], sensed["mood_until"]) == ("neutral", "sensed", None)
        track_event = watcher.find(lambda m: m[1] == f"{BASE}/event/track", 10)
        assert json.loads(track_event[2])["event_type"] in discovery["track_started"]["event_types"]

        # malformed commands are rejected on the event topic and change nothing
        for topic, bad in [("mood/set", "elated"), ("mood/set", '{"mood": "happy", "minutes": -5}'),
                           ("feedback/set", "meh")]:
            watcher.client.publish(f"{BASE}/{topic}", bad, qos=1)
            watcher.find(lambda m, t=topic: m[1] == f"{BASE}/event" and json.loads(m[2]).get("topic") == f"{BASE}/{t}"
                         and json.loads(m[2])["type"] == "error", 10)

        # a set mood with no camera and no microphone: the queue follows it, HA hears the change
        t0 = time.monotonic()
        watcher.client.publish(f"{BASE}/mood/set", '{"mood": "sad", "minutes": 60}', qos=1)
        _, _, payload = watcher.find(lambda m: m[1] == f"{BASE}/state" and m[0] > t0
                                     and json.loads(m[2])["mood_source"] == "set", 10)
        pinned = json.loads(payload)
        assert pinned["mood"] == "sad" and pinned["mood_until"] > pinned["updated"]
        upcoming = pinned["upcoming"]
        # the queue moves toward sad: negative on average, and 0.15 below the sensed (neutral) queue.
        # The draw is random among the best candidates: over 3,000 draws on these 40 clips (the
        # shipped ranking, match, one track played) the sad queue's mean valence lies in
        # [-0.30, -0.08] (-0.18 +- 0.04) and sits 0.20 to 0.70 below the neutral one, so -0.1
        # failed 1.3% of runs; a queue that ignored the set mood reads +0.23 +- 0.04.
        pinned_valence = sum(u["valence"] for u in upcoming) / len(upcoming)
        sensed_valence = sum(u["valence"] for u in sensed["upcoming"]) / len(sensed["upcoming"])
        assert pinned_valence < min(0.0, sensed_valence - 0.15), (pinned_valence, sensed_valence)
        mood_event = json.loads(watcher.find(lambda m: m[1] == f"{BASE}/event/mood", 10)[2])
        assert mood_event == {"event_type": "sad", "from": "neutral", "confidence": 1.0}
        assert mood_event["event_type"] in discovery["mood_changed"]["event_types"]

        # a like applies to the track playing now and teaches the taste shown in the next-track sensor
        watcher.client.publish(f"{BASE}/feedback/set", "like", qos=1)
        liked = json.loads(watcher.find(lambda m: m[1] == f"{BASE}/event" and json.loads(m[2])["type"] == "feedback",
                                        10)[2])
        assert liked["feedback"] == "like" and liked["mood"] == "sad"
        _, _, payload = watcher.find(lambda m: m[1] == f"{BASE}/state" and m[0] > t0
                                     and "taste" in json.loads(m[2])["upcoming"][0]["parts"], 10)
        assert liked["track"] == json.loads(payload)["player"]["track"]

        watcher.client.publish(f"{BASE}/mood/set", "auto", qos=1)
        watcher.find(lambda m: m[1] == f"{BASE}/state" and m[0] > t0 and json.loads(m[2])["mood_source"] == "sensed",
                     10)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.close()
        broker.stop()
        print(log.read_text()[-4000:])


def test_commanded_settings_survive_kill_9_and_sighup_rescans_instead_of_killing(scanned_library, tmp_path):
    """Volume 80 became 70 again after a restart, and HA showed the previous process's retained
    state after `online`; SIGHUP killed the daemon (exit 129) (issues 28 and 29)."""
    music, index = scanned_library
    index, broker, cfg, log, watcher = _prepared(music, index, tmp_path)
    proc = _start(cfg, log)
    try:
        watcher.find(lambda m: m[1] == f"{BASE}/availability" and m[2] == b"online", 30)
        for topic, payload in [("volume/set", "80"), ("policy/set", "calm"),
                               ("mood/set", '{"mood": "sad", "minutes": 60}')]:
            watcher.client.publish(f"{BASE}/{topic}", payload, qos=1)
        watcher.find(lambda m: m[1] == f"{BASE}/state" and json.loads(m[2])["player"]["volume"] == 80
                     and json.loads(m[2])["policy"] == "calm" and json.loads(m[2])["mood"] == "sad", 15)
        proc.send_signal(signal.SIGHUP)
        # the line says the signal was handled; SIGHUP's default action would have ended it first
        deadline = time.monotonic() + 15
        while "SIGHUP: rescanning the library" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert proc.poll() is None, log.read_text()
        proc.kill()  # kill -9
        proc.wait(10)

        watcher.close()
        watcher = Watcher(broker.port)
        # the killed process's retained state and last will arrive first: the new process's differ
        _, _, old = watcher.find(lambda m: m[1] == f"{BASE}/state", 10)
        watcher.find(lambda m: m[1] == f"{BASE}/availability" and m[2] == b"offline", 10)
        t0 = time.monotonic()
        proc = _start(cfg, log)
        online = watcher.find(lambda m: m[1] == f"{BASE}/availability" and m[2] == b"online" and m[0] > t0, 30)
        # this process's state came before its `online`: the first new state after the start is its own
        _, _, payload = watcher.find(lambda m: m[1] == f"{BASE}/state" and m[0] > t0 and m[2] != old, 10)
        state = json.loads(payload)
        assert (state["player"]["volume"], state["policy"], state["mood"], state["mood_source"]) == \
            (80, "calm", "sad", "set")
        assert watcher.find(lambda m: m[1] == f"{BASE}/state" and m[0] > t0 and m[2] != old, 1)[0] <= online[0]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        watcher.close()
        broker.stop()
        print(log.read_text()[-3000:])
