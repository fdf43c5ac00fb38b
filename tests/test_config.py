from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import yaml

from moodshuffle.config import Config, ConfigError, load_config, parse_config
from tests import REPO


def _flatten(obj, prefix=""):
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from _flatten(getattr(obj, f.name), f"{prefix}{f.name}.")
    else:
        yield prefix[:-1], obj


def test_documented_config_equals_the_defaults():
    documented = load_config(REPO / "config.yaml")
    defaults = parse_config({})
    assert dict(_flatten(documented)) == dict(_flatten(defaults))


def test_every_key_is_documented_in_config_yaml():
    text = (REPO / "config.yaml").read_text()
    for key, _ in _flatten(Config()):
        leaf = key.split(".")[-1]
        assert f"{leaf}:" in text, f"{key} is not documented in config.yaml"


def test_a_file_names_only_what_it_changes():
    cfg = parse_config({"mqtt": {"port": 8883}, "camera": {"source": 2}})
    assert cfg.mqtt.port == 8883
    assert cfg.mqtt.host == "localhost"
    assert cfg.camera.source == "2"
    assert cfg.mood.policy == "match"


def test_each_problem_names_its_key():
    with pytest.raises(ConfigError) as err:
        parse_config({
            "mqtt": {"port": 0, "tls": "yes", "colour": 1},
            "mood": {"policy": "party"},
            "camera": {"interval_s": "fast"},
            "libary": {},
        })
    problems = err.value.problems
    assert "mqtt.port: must be 1..65535, got 0" in problems
    assert any(p.startswith("mqtt.tls: must be true or false") for p in problems)
    assert any(p.startswith("mqtt.colour: unknown key") for p in problems)
    assert any(p.startswith("mood.policy: must be one of match, uplift, calm, off") for p in problems)
    assert any(p.startswith("camera.interval_s: must be a number") for p in problems)
    assert any(p.startswith("libary: unknown key") for p in problems)
    assert len(problems) == 6


def test_password_comes_from_env_then_file_then_config(tmp_path, monkeypatch):
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    cfg = parse_config({"mqtt": {"password": "inline", "password_file": str(secret)}})
    monkeypatch.delenv("MOODSHUFFLE_MQTT_PASSWORD", raising=False)
    assert cfg.mqtt.resolved_password() == "from-file"
    monkeypatch.setenv("MOODSHUFFLE_MQTT_PASSWORD", "from-env")
    assert cfg.mqtt.resolved_password() == "from-env"
    assert parse_config({"mqtt": {"password": "inline"}}).mqtt.resolved_password() == "from-env"


def test_missing_secret_file_is_named(tmp_path):
    with pytest.raises(ConfigError) as err:
        parse_config({"mqtt": {"password_file": str(tmp_path / "nope")}})
    assert err.value.problems[0].startswith("mqtt.password_file: file not found")


def test_broken_yaml_and_non_mapping_are_reported(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("mqtt: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text(yaml.safe_dump(["a", "b"]))
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(bad)


@pytest.mark.real
def test_cli_exits_non_zero_naming_each_bad_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("mqtt:\n  port: 0\nmood:\n  policy: party\n")
    proc = subprocess.run(
        [sys.executable, "-m", "moodshuffle", "run", "-c", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "mqtt.port: must be 1..65535, got 0" in proc.stderr
    assert "mood.policy: must be one of" in proc.stderr


@pytest.mark.parametrize("text", [".nan", ".inf", "-.inf"])
def test_every_float_setting_refuses_nan_and_infinity_naming_the_key(text):
    keys = [key for key, value in _flatten(Config()) if isinstance(value, float)]
    assert "camera.interval_s" in keys and "mood.half_life_s" in keys
    for key in keys:
        section, leaf = key.split(".")
        with pytest.raises(ConfigError) as err:
            parse_config(yaml.safe_load(f"{section}:\n  {leaf}: {text}\n"))
        assert len(err.value.problems) == 1
        assert err.value.problems[0].startswith(f"{key}: must be a finite number in "), err.value.problems
        assert err.value.problems[0].endswith(f"got {float(text.replace('.', ''))!r}")


@pytest.mark.real
def test_a_config_file_that_is_not_utf8_is_one_line_and_exit_2(tmp_path):
    latin1 = tmp_path / "config.yaml"
    latin1.write_bytes("device_id: wohnzimmer\nmqtt:\n  username: jürgen\n".encode("latin-1"))
    proc = subprocess.run([sys.executable, "-m", "moodshuffle", "-c", str(latin1), "doctor"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"moodshuffle: config error: {latin1}: not UTF-8 text (byte 0xfc on line 3): save it as UTF-8"]


def test_a_yaml_error_is_one_line_with_its_position(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("camera:\n  interval_s: 2\n mood: [\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    (problem,) = err.value.problems
    assert "\n" not in problem and "(line 3, column 2)" in problem, problem


def test_the_player_backend_and_mpd_settings_are_validated_naming_the_key():
    cfg = parse_config(yaml.safe_load("player:\n  backend: mpd\n  mpd:\n    host: /run/mpd/socket\n"))
    assert (cfg.player.backend, cfg.player.mpd.host, cfg.player.mpd.port) == ("mpd", "/run/mpd/socket", 6600)
    assert parse_config({}).player.backend == "vlc"
    for text, problem in [("backend: mopidy", "player.backend: must be one of vlc, mpd, got 'mopidy'"),
                          ("mpd:\n    port: 0", "player.mpd.port: must be 1..65535, got 0"),
                          ("mpd:\n    volume: 3", "player.mpd.volume: unknown key"),
                          ("backend: mpd\n  mpd:\n    host: ''", "player.mpd.host: must name MPD's host")]:
        with pytest.raises(ConfigError) as err:
            parse_config(yaml.safe_load(f"player:\n  {text}\n"))
        assert [p[:len(problem)] for p in err.value.problems] == [problem], err.value.problems


def test_scan_workers_must_be_a_count_and_zero_means_the_cores_but_one():
    from moodshuffle.library.workers import scan_workers

    for bad in (-1, 65, 1.5, "two"):
        with pytest.raises(ConfigError, match=r"library\.scan_workers"):
            parse_config({"library": {"scan_workers": bad}})
    assert parse_config({"library": {"scan_workers": 3}}).library.scan_workers == 3
    import os

    assert scan_workers(0) == max(1, len(os.sched_getaffinity(0)) - 1)
    assert scan_workers(5) == 5
