"""What the listener commanded survives a restart: the settings file beside the index, written
by a listener of the real controller and given back to a new one."""

from __future__ import annotations

import json

import numpy as np

from moodshuffle.config import Config, MicrophoneConfig
from moodshuffle.core import Controller, MoodSource, PlayerAction, Sensor
from moodshuffle.domain.policy import Policy
from moodshuffle.stages import settings
from tests._tables import random_table


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def started(cfg: Config, mono: Clock) -> Controller:
    core = Controller(cfg, mono(), np.random.default_rng(0))
    core.library_loaded(random_table(30))
    return core


def test_commands_survive_a_restart_and_a_set_mood_keeps_its_end(tmp_path):
    path = settings.settings_path(tmp_path / "index.sqlite3")
    mono, wall = Clock(100.0), Clock(1_000_000.0)
    core = started(Config(), mono)
    core.add_listener(settings.SettingsKeeper(path, core, mono, wall))
    core.start()
    core.set_volume(80)
    core.set_policy(Policy.CALM)
    core.set_sensor(Sensor.CAMERA, False)
    core.set_mood("sad", 3600.0)
    saved = json.loads(path.read_text())
    assert saved == {"volume": 80, "policy": "calm", "camera": False, "microphone": True, "mood": "sad",
                     "mood_until": 1_003_600.0, "mood_minutes": 0.0}
    mtime = path.stat().st_mtime_ns
    for _ in range(1, 30):  # the clock runs, nothing is commanded: nothing is written
        mono.t += 1.0
        wall.t += 1.0
        core.tick(mono())
    assert path.stat().st_mtime_ns == mtime

    # a restart (a kill -9 loses nothing: each change was written when it happened), 10 min later
    mono2, later = Clock(5.0), 1_000_000.0 + 600.0
    again = started(Config(), mono2)
    settings.restore(again, settings.load(path), later)
    state = again.state
    assert (state.player.volume, state.policy) == (80, Policy.CALM)
    assert not again.sensor_wanted(Sensor.CAMERA) and again.sensor_wanted(Sensor.MICROPHONE)
    assert (state.mood.label, state.mood_source) == ("sad", MoodSource.SET)
    assert state.mood_until == 5.0 + 3000.0  # what was left of the hour


def test_a_set_mood_whose_end_passed_while_stopped_is_sensed_again(tmp_path):
    path = settings.settings_path(tmp_path / "index.sqlite3")
    path.write_text(json.dumps({"mood": "happy", "mood_until": 500.0, "volume": 20}))
    core = started(Config(), Clock(0.0))
    settings.restore(core, settings.load(path), 600.0)
    assert core.state.mood_source == MoodSource.SENSED and core.state.player.volume == 20


def test_a_damaged_or_hostile_settings_file_is_ignored_key_by_key(tmp_path):
    path = tmp_path / settings.FILE_NAME
    path.write_text("{not json")
    assert settings.load(path) == settings.Settings()
    path.write_text(json.dumps({"volume": 900, "policy": "party", "camera": "yes", "mood": "elated",
                                "microphone": False, "mood_until": "soon"}))
    assert settings.load(path) == settings.Settings(microphone=False)
    # a microphone disabled in the config stays off whatever the file says
    core = started(Config(microphone=MicrophoneConfig(enabled=False)), Clock(0.0))
    settings.restore(core, settings.Settings(microphone=True), 0.0)
    assert not core.sensor_wanted(Sensor.MICROPHONE)


def test_an_unwritable_folder_loses_the_setting_not_the_music(tmp_path):
    path = tmp_path / "missing" / settings.FILE_NAME
    core = started(Config(), Clock(0.0))
    core.add_listener(settings.SettingsKeeper(path, core))
    core.start()
    core.set_volume(10)
    core.player_command(PlayerAction.PAUSE)
    assert core.state.player.volume == 10 and not path.exists()


def test_a_mood_set_from_home_assistant_holds_for_the_set_mood_for_minutes(tmp_path):
    """HA's select sends only a name; its "set mood for" number (mood/minutes/set) gives the
    duration, kept across a restart (issue 29)."""
    from moodshuffle.report.commands import CommandError, run_command

    path = settings.settings_path(tmp_path / "index.sqlite3")
    mono = Clock(0.0)
    core = started(Config(), mono)
    core.add_listener(settings.SettingsKeeper(path, core, mono, Clock(1000.0)))
    run_command("mood/set", b"happy", core)
    assert core.state.mood_until is None  # 0 minutes: until set again, as before
    run_command("mood/minutes/set", b"90", core)
    run_command("mood/set", b"sad", core)
    assert core.state.mood_until == 90 * 60.0 and core.state.mood_minutes == 90
    run_command("mood/set", b'{"mood": "fear", "minutes": 5}', core)  # explicit minutes win
    assert core.state.mood_until == 300.0
    for bad in (b"-1", b"soon", b"nan", b"100000"):
        try:
            run_command("mood/minutes/set", bad, core)
        except CommandError:
            continue
        raise AssertionError(bad)
    again = started(Config(), Clock(0.0))
    settings.restore(again, settings.load(path), 1000.0)
    assert again.mood_minutes == 90

