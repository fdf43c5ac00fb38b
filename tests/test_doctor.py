"""``moodshuffle doctor`` logs in to a real Mosquitto as the daemon would, and names corrupt models."""

from __future__ import annotations

import os

import pytest

from moodshuffle.config import parse_config
from moodshuffle.doctor import _check_broker, _check_models
from tests import REPO
from tests.broker import Broker, free_port, make_tls

pytestmark = pytest.mark.real


@pytest.fixture
def tls_broker(tmp_path):
    folder = tmp_path / "tls"
    broker = Broker(folder, free_port(), tls=make_tls(folder / "certs")).start()
    yield broker
    broker.stop()


def _mqtt(broker: Broker, **mqtt: object):
    return parse_config({"device_id": "doctor-test", "mqtt": {"host": "127.0.0.1", "port": broker.port, **mqtt}})


def test_a_wrong_password_fails_and_the_right_one_from_a_file_logs_in(broker, tmp_path, monkeypatch):
    monkeypatch.delenv("MOODSHUFFLE_MQTT_PASSWORD", raising=False)
    ok, message = _check_broker(_mqtt(broker, username="speaker", password="wrong"))
    assert not ok and "refused the login" in message and "Not authorized" in message, message
    ok, message = _check_broker(_mqtt(broker))
    assert not ok and "refused the login" in message, message
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    ok, message = _check_broker(_mqtt(broker, username="speaker", password_file=str(secret)))
    assert ok and message == f"logged in to 127.0.0.1:{broker.port} as speaker", message


def test_a_tls_only_listener_fails_without_tls_and_logs_in_with_its_ca(tls_broker):
    ok, message = _check_broker(_mqtt(tls_broker))
    assert not ok and "set mqtt.tls: true" in message, message
    ok, message = _check_broker(_mqtt(tls_broker, tls=True))  # the system's CAs do not know the test CA
    assert not ok and "certificate" in message and "mqtt.ca_file" in message, message
    ok, message = _check_broker(_mqtt(tls_broker, tls=True, ca_file=str(tls_broker.tls["ca"])))
    assert ok and message.endswith("over TLS as anonymous"), message


def test_no_broker_on_the_port_fails():
    ok, message = _check_broker(parse_config({"mqtt": {"host": "127.0.0.1", "port": free_port()}}))
    assert not ok and "Connection refused" in message, message


def test_corrupt_models_are_named_with_the_reason(tmp_path):
    good = (REPO / "models" / "face_emotion.tflite").read_bytes()
    (tmp_path / "cut.tflite").write_bytes(good[: len(good) // 2])
    (tmp_path / "noise.tflite").write_bytes(os.urandom(10_000))
    (tmp_path / "empty.tflite").write_bytes(b"")
    cfg = parse_config({"models": {"face_expression": str(tmp_path / "cut.tflite"),
                                   "voice": str(tmp_path / "noise.tflite"),
                                   "music": str(tmp_path / "empty.tflite")}})
    ok, message = _check_models(cfg)
    assert not ok
    assert f"models.face_expression: {tmp_path / 'cut.tflite'}: cannot load model: " in message
    assert f"models.voice: {tmp_path / 'noise.tflite'}: cannot load model: " in message
    assert f"models.music: {tmp_path / 'empty.tflite'}: empty model file" in message
    assert "face_detector" not in message


def test_doctor_names_an_audio_output_that_does_not_exist_and_a_vlc_arg_libvlc_rejects():
    """`doctor` said `ok vlc` (now the `player` check) for --alsa-audio-device=hw:9,9 (no such card) and for an option
    libVLC does not know, which made `run` exit 1 with a traceback (issue 28, item 8)."""
    from moodshuffle.doctor import _check_player

    ok, message = _check_player(parse_config({"player": {"vlc_args": ["--aout=alsa", "--alsa-audio-device=hw:9,9"]}}))
    assert not ok and "hw:9,9" in message and "-- fix:" in message
    ok, message = _check_player(parse_config({"player": {"vlc_args": ["--quiet", "--no-such-vlc-option"]}}))
    assert not ok and "player.vlc_args" in message and "--no-such-vlc-option" in message
    assert _check_player(parse_config({"player": {"vlc_args": ["--aout=dummy"]}}))[0]


def test_run_with_a_vlc_arg_libvlc_rejects_is_one_clear_line_not_a_traceback(tmp_path):
    import subprocess
    import sys

    import yaml

    (tmp_path / "music").mkdir()
    cfg = {"camera": {"enabled": False}, "microphone": {"enabled": False}, "mqtt": {"enabled": False},
           "library": {"paths": [str(tmp_path / "music")], "index_path": str(tmp_path / "index.sqlite3")},
           "player": {"vlc_args": ["--aout=dummy", "--no-such-vlc-option"]}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    done = subprocess.run([sys.executable, "-m", "moodshuffle", "-c", str(tmp_path / "c.yaml"), "run"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "config error: player.vlc_args: libVLC rejects '--no-such-vlc-option'" in done.stderr
