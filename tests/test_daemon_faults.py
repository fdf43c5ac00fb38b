"""The real daemon process (and ``scan``) against faults a living room produces: a FIFO in the
library, a scan stuck on a lock, corrupt model files."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from moodshuffle.app import STOP_BUDGET_S
from moodshuffle.library.index import connect
from tests import REPO
from tests.broker import Broker, free_port
from tests.daemon import Watcher

pytestmark = pytest.mark.real

CLIPS = ["audio/Q1/MT0000040632.opus", "audio/Q2/MT0000011357.opus"]
#: interpreter start-up is not part of the budget, but its teardown after the loop ends is
EXIT_SLACK_S = 1.5


def _library(shared_data: Path, tmp_path: Path) -> Path:
    music = tmp_path / "music"
    music.mkdir()
    for i, rel in enumerate(CLIPS):
        shutil.copy(shared_data / "music-4q" / rel, music / f"{i}.opus")
    return music


def _config(tmp_path: Path, music: Path, **overrides: dict) -> Path:
    """The shipped defaults, with only media, library, broker and model files set (no camera
    device at /dev/video77, no broker on the port)."""
    config = {
        "device_id": "faults",
        "camera": {"source": "/dev/video77"},
        "microphone": {"enabled": False},
        "library": {"paths": [str(music)], "index_path": str(tmp_path / "index.sqlite3")},
        "player": {"vlc_args": ["--aout=dummy", "--quiet"]},
        "mqtt": {"host": "127.0.0.1", "port": free_port()},
    }
    for key, value in overrides.items():
        config.setdefault(key, {}).update(value)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class Daemon:
    def __init__(self, config: Path, tmp_path: Path) -> None:
        self.log = tmp_path / "daemon.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "moodshuffle", "-c", str(config), "run"], stdout=out,
                                         stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float) -> str:
        """The first log line matching ``pattern``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(f".*{pattern}.*", self.text())
            if found:
                return found.group(0)
            assert self.proc.poll() is None, f"daemon exited:\n{self.text()}"
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not logged within {timeout} s:\n{self.text()}")

    def stop_within_budget(self) -> float:
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            assert self.proc.wait(STOP_BUDGET_S + 30) == 0, self.text()
        finally:
            self.kill()
        return time.monotonic() - t0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_a_fifo_in_the_library_is_named_and_the_daemon_stops_within_its_budget(shared_data, tmp_path):
    music = _library(shared_data, tmp_path)
    os.mkfifo(music / "stream.opus")
    daemon = Daemon(_config(tmp_path, music), tmp_path)
    try:
        daemon.wait_for("library scan: 2 analysed", 90)
        assert f"cannot analyse {music}/stream.opus: not a regular file (a FIFO)" in daemon.text()
        daemon.wait_for("now playing", 30)
        took = daemon.stop_within_budget()
    finally:
        daemon.kill()
    assert took < STOP_BUDGET_S + EXIT_SLACK_S, f"stopped in {took:.1f} s"
    assert "Traceback" not in daemon.text()


def test_a_scan_stuck_on_a_locked_index_does_not_hold_up_sigterm(shared_data, tmp_path):
    """Another ``moodshuffle scan`` holding the index's write lock keeps the daemon's scan
    waiting (30 s busy timeout, then another track): SIGTERM must not wait for it."""
    music = _library(shared_data, tmp_path)
    index = tmp_path / "index.sqlite3"
    connect(index).close()
    holder = sqlite3.connect(index, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    daemon = Daemon(_config(tmp_path, music), tmp_path)
    try:
        daemon.wait_for("running as faults", 60)
        # the scan analyses its first track (about a second here) and then waits for the lock;
        # give it time to get there, so that SIGTERM finds it stuck rather than not yet started
        time.sleep(4)
        assert "library scan:" not in daemon.text()  # still stuck
        took = daemon.stop_within_budget()
    finally:
        daemon.kill()
        holder.execute("ROLLBACK")
        holder.close()
    assert took < STOP_BUDGET_S + EXIT_SLACK_S, f"stopped in {took:.1f} s"


def _corrupt_models(tmp_path: Path) -> dict[str, str]:
    """Truncated, garbage and empty copies of the shipped models, as a disk or a copy leaves them."""
    folder = tmp_path / "models"
    folder.mkdir()
    detector = (REPO / "models" / "face_detector.tflite").read_bytes()
    (folder / "face_detector.tflite").write_bytes(detector[: len(detector) // 2])
    (folder / "voice_emotion.tflite").write_bytes(os.urandom(50_000))
    (folder / "music_emotion.tflite").write_bytes(b"")
    return {name: str(folder / f"{file}.tflite") for name, file in
            (("face_detector", "face_detector"), ("voice", "voice_emotion"), ("music", "music_emotion"))}


def test_corrupt_models_are_one_line_each_and_never_a_restart_loop(shared_data, tmp_path):
    music = _library(shared_data, tmp_path)
    models = _corrupt_models(tmp_path)
    speech = shared_data / "speech" / "audio" / "ravdess" / "03-01-05-02-01-01-01.opus"
    config = _config(tmp_path, music, models=models,
                     microphone={"enabled": True, "source": str(speech), "loop": True})
    daemon = Daemon(config, tmp_path)
    try:
        for stage, name in (("camera", "face_detector"), ("microphone", "voice"), ("library", "music")):
            line = daemon.wait_for(f"stage {stage} cannot run", 60)
            assert models[name] in line
        # the old supervisor restarted after 1, 2 and 4 s, a traceback and a line each time
        time.sleep(5)
        took = daemon.stop_within_budget()
    finally:
        daemon.kill()
    text = daemon.text()
    assert "Traceback" not in text
    assert text.count("cannot run") == 3, text
    assert "not a valid Flatbuffer" in text and "empty model file" in text
    assert took < STOP_BUDGET_S + EXIT_SLACK_S


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_scan_with_a_corrupt_music_model_ends_in_one_line(shared_data, tmp_path, damage):
    music = _library(shared_data, tmp_path)
    good = (REPO / "models" / "music_emotion.tflite").read_bytes()
    bad = tmp_path / "music_emotion.tflite"
    bad.write_bytes({"truncated": good[: len(good) // 3], "garbage": os.urandom(4096), "empty": b""}[damage])
    config = _config(tmp_path, music, models={"music": str(bad)})
    proc = subprocess.run([sys.executable, "-m", "moodshuffle", "-c", str(config), "scan"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and str(bad) in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


def _scanned_library(shared_data: Path, tmp_path: Path, **overrides: dict) -> tuple[Path, Path]:
    """(music folder, config) with the folder already indexed by the real ``moodshuffle scan``."""
    music = _library(shared_data, tmp_path)
    config = _config(tmp_path, music, **overrides)
    subprocess.run([sys.executable, "-m", "moodshuffle", "-c", str(config), "scan"], check=True, capture_output=True,
                   timeout=120)
    return music, config


def _states(watcher: Watcher) -> list[tuple[float, dict]]:
    with watcher.lock:
        return [(at, json.loads(p)) for at, t, p in watcher.messages if t == f"{watcher.base}/state"]


def test_a_music_folder_missing_at_start_keeps_the_index_and_the_music_resumes_when_it_is_back(shared_data, tmp_path):
    """The old daemon marked every track failed in a second, emptied the index and crash-looped
    in ``snapshot()`` (``IndexError ... axis 0 with size 0``); nothing recovered."""
    broker = Broker(tmp_path, free_port()).start()
    music, config = _scanned_library(shared_data, tmp_path, mqtt={"port": broker.port})
    unmounted = music.with_name("music.unmounted")
    music.rename(unmounted)
    watcher = Watcher(broker.port, "moodshuffle/faults")
    daemon = Daemon(config, tmp_path)
    try:
        _, _, payload = watcher.find(lambda m: m[1] == f"{watcher.base}/state"
                                     and json.loads(m[2])["library"]["unavailable"] == [str(music)], 60)
        state = json.loads(payload)
        assert state["library"]["tracks"] == 0 and state["player"]["state"] == "idle", state
        daemon.wait_for(f"library folder {music} is unavailable", 30)
        time.sleep(6)  # the USB disk takes its time; meanwhile nothing is given up on
        assert watcher.events("error") == [], watcher.events("error")
        unmounted.rename(music)
        back = time.monotonic()
        started_at, _, _ = watcher.find(lambda m: m[1] == f"{watcher.base}/event"
                                        and json.loads(m[2])["type"] == "track_started", 60)
        watcher.find(lambda m: m[1] == f"{watcher.base}/state" and json.loads(m[2])["library"] == {
            "tracks": 2, "scanning": False, "unavailable": []}, 10)
        print(f"music resumed {started_at - back:.1f} s after the folder came back")
        assert started_at - back < 60
        assert "library folder" in daemon.wait_for("is back: scanning", 5)
        daemon.stop_within_budget()
    finally:
        daemon.kill()
        watcher.close()
        broker.stop()
    assert "Traceback" not in daemon.text()
    assert len(_states(watcher)) >= 2
    with sqlite3.connect(tmp_path / "index.sqlite3") as db:
        failed = db.execute("SELECT COUNT(*) FROM tracks WHERE failed IS NOT NULL").fetchone()[0]
        total = db.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
    assert (total, failed) == (2, 0)


def test_a_corrupt_model_is_an_error_event_and_state_on_mqtt(shared_data, tmp_path):
    broker = Broker(tmp_path, free_port()).start()
    music = _library(shared_data, tmp_path)
    models = _corrupt_models(tmp_path)
    watcher = Watcher(broker.port, "moodshuffle/faults")
    daemon = Daemon(_config(tmp_path, music, models=models, mqtt={"port": broker.port}), tmp_path)
    try:
        for stage, name in (("camera", "face_detector"), ("library", "music")):
            _, _, payload = watcher.find(lambda m, s=stage: m[1] == f"{watcher.base}/event"
                                         and json.loads(m[2]).get("stage") == s, 60)
            event = json.loads(payload)
            assert event["type"] == "error" and models[name] in event["reason"], event
        _, _, payload = watcher.find(lambda m: m[1] == f"{watcher.base}/state"
                                     and set(json.loads(m[2])["errors"]) == {"camera", "library"}, 10)
        assert models["music"] in json.loads(payload)["errors"]["library"]
        daemon.stop_within_budget()
    finally:
        daemon.kill()
        watcher.close()
        broker.stop()
    assert "Traceback" not in daemon.text()


def test_two_speakers_with_one_device_id_warn_once_and_do_not_flap(shared_data, tmp_path):
    """Two Pis both still called ``raspberrypi``: the old daemons knocked each other off the
    broker every 2-3 s, flipping availability."""
    broker = Broker(tmp_path, free_port()).start()
    daemons, watcher = [], Watcher(broker.port, "moodshuffle/faults")
    try:
        for name in ("one", "two"):
            folder = tmp_path / name
            folder.mkdir()
            daemons.append(Daemon(_config(folder, _library(shared_data, folder), mqtt={"port": broker.port}), folder))
            daemons[-1].wait_for("connected to MQTT broker", 60)
        for daemon in daemons:
            daemon.wait_for("uses device_id 'faults'", 20)
        watch_from = time.monotonic()
        time.sleep(15)
        with watcher.lock:
            availability = [p for at, t, p in watcher.messages
                            if t == f"{watcher.base}/availability" and at >= watch_from]
        for daemon in daemons:
            daemon.stop_within_budget()
    finally:
        for daemon in daemons:
            daemon.kill()
        watcher.close()
        broker.stop()
    assert availability == [], availability  # no offline, no re-announced online
    for daemon in daemons:
        text = daemon.text()
        assert text.count("uses device_id 'faults'") == 1, text
        assert "give each speaker its own device_id" in text
        assert text.count("connected to MQTT broker") == 1, text
        assert "Traceback" not in text


def test_a_music_folder_unplugged_while_playing_fails_no_track_and_comes_back(shared_data, tmp_path):
    broker = Broker(tmp_path, free_port()).start()
    music, config = _scanned_library(shared_data, tmp_path, mqtt={"port": broker.port})
    unplugged = music.with_name("music.unplugged")
    watcher = Watcher(broker.port, "moodshuffle/faults")
    daemon = Daemon(config, tmp_path)
    try:
        daemon.wait_for("now playing", 60)
        music.rename(unplugged)
        watcher.client.publish(f"{watcher.base}/player/set", "next", qos=1)  # the next file is gone
        watcher.find(lambda m: m[1] == f"{watcher.base}/state"
                     and json.loads(m[2])["library"]["unavailable"] == [str(music)], 30)
        started = len(watcher.events("track_started"))
        unplugged.rename(music)
        back = time.monotonic()
        watcher.find(lambda m: m[1] == f"{watcher.base}/event" and m[0] > back
                     and json.loads(m[2])["type"] == "track_started", 60)
        assert len(watcher.events("track_started")) > started
        daemon.stop_within_budget()
    finally:
        daemon.kill()
        watcher.close()
        broker.stop()
    assert "Traceback" not in daemon.text()
    with sqlite3.connect(tmp_path / "index.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM tracks WHERE failed IS NULL").fetchone()[0] == len(CLIPS)
