"""The VLC queue with real libVLC (dummy audio output) on real 4Q clips."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from moodshuffle.act.player import QueuedTrack, VlcPlayer
from moodshuffle.config import PlayerConfig

CLIPS = ["audio/Q1/MT0000040632.opus", "audio/Q1/MT0000082187.opus", "audio/Q1/MT0000414517.opus"]


@pytest.fixture(scope="module")
def short_clips(shared_data, tmp_path_factory) -> list[Path]:
    """Real clips cut to 1.5 s so that tracks end quickly."""
    out = tmp_path_factory.mktemp("clips")
    paths = []
    for i, rel in enumerate(CLIPS):
        dst = out / f"clip{i}.opus"
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(shared_data / "music-4q" / rel), "-t", "1.5",
                        "-c", "copy", str(dst)], check=True)
        paths.append(dst)
    return paths


def track(i: int, path: Path) -> QueuedTrack:
    return QueuedTrack(i, str(path), f"title{i}", f"artist{i}", "", 1.5)


class Recorder:
    def __init__(self, player: VlcPlayer) -> None:
        self.events: list[tuple] = []
        self.cond = threading.Condition()
        player.track_started = lambda t: self._add("started", t.track_id)
        player.track_finished = lambda t: self._add("finished", t.track_id)
        player.track_failed = lambda t, reason: self._add("failed", t.track_id)
        player.skipped = lambda t, pos: self._add("skipped", t.track_id)
        player.queue_empty = lambda: self._add("empty",)

    def _add(self, *event) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait_for(self, event: tuple, timeout: float = 10.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: event in self.events, timeout), (event, self.events)


@pytest.fixture
def player():
    p = VlcPlayer(PlayerConfig(vlc_args=["--aout=dummy", "--quiet"]))
    yield p
    p.stop()
    p.close()


def test_tracks_play_in_the_given_order_and_the_queue_runs_dry(player, short_clips):
    rec = Recorder(player)
    player.set_upcoming([track(i, p) for i, p in enumerate(short_clips)])
    player.play()
    rec.wait_for(("empty",), timeout=20)
    started = [e[1] for e in rec.events if e[0] == "started"]
    assert started == [0, 1, 2]
    assert player.state == "idle" and player.current is None


def test_reorder_never_interrupts_the_current_track(player, shared_data):
    rec = Recorder(player)
    full = shared_data / "music-4q" / CLIPS[0]
    other = shared_data / "music-4q" / CLIPS[1]
    player.set_upcoming([track(10, full), track(11, other)])
    player.play()
    rec.wait_for(("started", 10))
    time.sleep(1.0)
    before = player.position_s
    player.set_upcoming([track(12, other), track(13, other)])
    time.sleep(1.0)
    assert player.current.track_id == 10
    assert player.position_s > before > 0
    assert [t.track_id for t in player.upcoming] == [12, 13]


def test_unplayable_file_is_skipped_reported_and_playback_goes_on(player, short_clips, tmp_path):
    rec = Recorder(player)
    corrupt = tmp_path / "corrupt.opus"
    corrupt.write_bytes(b"OggS" + bytes(range(256)) * 20)
    player.set_upcoming([track(20, corrupt), track(21, short_clips[0])])
    player.play()
    rec.wait_for(("failed", 20))
    rec.wait_for(("started", 21))
    assert ("started", 20) not in rec.events


def test_early_next_reports_a_skip_and_commands_take_effect(player, shared_data):
    rec = Recorder(player)
    full = shared_data / "music-4q" / CLIPS[0]
    player.set_upcoming([track(30, full), track(31, full)])
    player.play()
    rec.wait_for(("started", 30))
    player.set_volume(35)
    player.pause()
    time.sleep(0.5)
    assert player.state == "paused" and player.volume == 35
    paused_at = player.position_s
    time.sleep(0.7)
    assert abs(player.position_s - paused_at) < 0.2
    player.play()
    player.next()
    rec.wait_for(("skipped", 30))
    rec.wait_for(("started", 31))


def test_empty_queue_idles_and_stop_is_fast(player):
    rec = Recorder(player)
    player.play()
    rec.wait_for(("empty",))
    assert player.state == "idle"
    t0 = time.monotonic()
    player.stop()
    assert time.monotonic() - t0 < 1.0
