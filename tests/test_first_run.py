"""The first-run guidance: one block naming what is missing and what fixes it."""

from __future__ import annotations

import sqlite3

import pytest

from moodshuffle.config import parse_config
from moodshuffle.doctor import CheckResult, run_checks
from moodshuffle.first_run import split_fix, startup_advice
from tests.broker import Broker, free_port


def nothing_configured(tmp_path, **library):
    """A fresh machine: no music folder, no camera, no broker on the port."""
    return parse_config({
        "camera": {"source": str(tmp_path / "no-camera.mp4")},
        "library": {"paths": [str(tmp_path / "Music")], "index_path": str(tmp_path / "index.sqlite3"), **library},
        "mqtt": {"host": "127.0.0.1", "port": free_port()},
    })


def test_with_nothing_configured_one_block_names_music_camera_and_broker_with_their_fixes(tmp_path):
    cfg = nothing_configured(tmp_path)
    results = run_checks(cfg, ("camera", "broker", "library"))
    block = startup_advice(cfg, results, tmp_path / "config.yaml")
    assert block is not None
    lines = block.splitlines()
    topics = [line.split()[0] for line in lines[1:] if not line.strip().startswith("fix:")][:3]
    assert topics == ["music", "camera", "broker"], block
    assert str(tmp_path / "Music") in block and "library.paths" in block
    assert "camera.enabled: false" in block and "mqtt.enabled: false" in block
    assert f"moodshuffle -c {tmp_path / 'config.yaml'} doctor" in lines[-1]
    assert len(lines) == 8


@pytest.mark.real
def test_all_well_says_nothing(tmp_path, shared_data):
    music = tmp_path / "Music"
    music.mkdir()
    broker = Broker(tmp_path, free_port()).start()
    try:
        cfg = parse_config({
            "camera": {"source": str(shared_data / "faces" / "media" / "single_face.mp4")},
            "library": {"paths": [str(music)], "index_path": str(tmp_path / "index.sqlite3")},
            "mqtt": {"host": "127.0.0.1", "port": broker.port},
        })
        sqlite3.connect(tmp_path / "index.sqlite3").close()
        results = run_checks(cfg, ("camera", "broker", "library"))
        assert all(r.ok for r in results), results
        assert startup_advice(cfg, results) is None
    finally:
        broker.stop()


def test_a_library_waiting_for_its_first_scan_is_not_missing_unless_scans_on_start_are_off(tmp_path):
    (tmp_path / "Music").mkdir()
    scanning = nothing_configured(tmp_path)
    library = run_checks(scanning, ("library",))
    assert not library[0].ok  # no index yet
    assert startup_advice(scanning, library) is None
    manual = nothing_configured(tmp_path, scan_on_start=False)
    block = startup_advice(manual, run_checks(manual, ("library",)))
    assert block is not None and "moodshuffle scan" in block and "camera" not in block


def test_other_checks_and_disabled_parts_add_nothing():
    cfg = parse_config({"camera": {"enabled": False}, "mqtt": {"enabled": False}})
    results = [CheckResult("microphone", False, "no audio input device -- fix: plug in a USB microphone"),
               CheckResult("camera", True, "disabled in config (camera.enabled: false)"),
               CheckResult("broker", True, "disabled in config (mqtt.enabled: false)")]
    assert startup_advice(cfg, results) is None


def test_split_fix():
    assert split_fix("cannot reach x:1 -- fix: start it") == ("cannot reach x:1", "start it")
    assert split_fix("check crashed: boom") == ("check crashed: boom", "")


@pytest.mark.real
def test_a_fresh_start_with_nothing_configured_prints_one_block_and_no_probe_noise(tmp_path):
    """The shipped config.yaml as `scripts/run.sh` runs it, on a machine with no music, no camera
    and (here) no sound card: one block of guidance, no JACK or ALSA lines."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    from tests import REPO

    out = tmp_path / "console.txt"
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    env.pop("JOURNAL_STREAM", None)
    with open(out, "w") as console:
        proc = subprocess.Popen([sys.executable, "-m", "moodshuffle", "-c", str(REPO / "config.yaml"), "run"],
                                stdout=console, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        while "Check again with" not in out.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        # the microphone stage probes PortAudio (where JACK and ALSA would speak) and logs what it
        # found, after the block or, on busy cores, before it: wait for that line, then stop
        deadline = time.monotonic() + 60
        while "moodshuffle.microphone: microphone " not in out.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.read_text()
    print(text)
    assert text.count("something is missing") == 1
    block = text.split("something is missing:", 1)[1].split("Check again with", 1)[0]
    assert "music" in block and str(tmp_path / "Music") in block and "camera" in block
    with socket.socket() as s:
        broker_up = s.connect_ex(("127.0.0.1", 1883)) == 0
    assert ("broker" in block) != broker_up
    lowered = text.lower()
    assert "jack" not in lowered and "alsa lib" not in lowered and "cannot connect to server" not in lowered
