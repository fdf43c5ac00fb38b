"""The VLC player with real libVLC (dummy audio output) on real 4Q clips: it plays what it is
asked to and reports what happened to each track; with the controller it plays the queue."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from moodshuffle.act.player import VlcPlayer
from moodshuffle.config import Config, MoodConfig, PlayerConfig
from moodshuffle.core import (
    Controller,
    PauseRequested,
    PlaybackState,
    PlayEnded,
    PlayerAction,
    StageFailed,
    TrackStarted,
)
from moodshuffle.domain.history import PlayOutcome, end_of_track, is_cut_short
from moodshuffle.domain.tracks import Track
from tests._tables import random_table
from tests.recorder import PlayerReportsLog, Recorder

pytestmark = pytest.mark.real

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


def track(i: int, path: Path) -> Track:
    return Track(i, str(path), f"title{i}", f"artist{i}", "", 1.5)


class Reports(PlayerReportsLog):
    """Records the player's reports (what the controller receives)."""

    def track_finished(self, track_id: int, played_s: float | None = None) -> None:
        self._add("finished", track_id)
        self.played_s = played_s

    def track_failed(self, track_id: int, reason: str) -> None:
        self._add("failed", track_id)

    def stage_failed(self, stage: str, reason: str) -> None:
        self._add("stage_failed", stage, reason)


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def player(reports):
    p = VlcPlayer(PlayerConfig(vlc_args=["--aout=dummy", "--quiet"]), reports)
    yield p
    p.stop()
    p.close()


def test_a_track_plays_to_its_end_and_is_reported_started_then_finished(player, reports, short_clips):
    player.play(track(0, short_clips[0]))
    reports.wait_for(lambda e: e == ("finished", 0), timeout=20)
    assert reports.events == [("started", 0), ("finished", 0)]
    assert player.state == PlaybackState.IDLE and player.current is None


def test_a_new_track_replaces_the_current_one_which_is_reported_stopped(player, reports, shared_data):
    full = shared_data / "music-4q" / CLIPS[0]
    player.play(track(10, full))
    reports.wait_for(lambda e: e == ("started", 10))
    deadline = time.monotonic() + 5
    while player.position_s < 0.5 and time.monotonic() < deadline:
        time.sleep(0.05)
    player.play(track(11, shared_data / "music-4q" / CLIPS[1]))
    stopped = reports.wait_for(lambda e: e[0] == "stopped")
    assert stopped[1] == 10 and 0.5 <= stopped[2] < 10
    reports.wait_for(lambda e: e == ("started", 11))
    assert player.current.track_id == 11 and ("finished", 10) not in reports.events


def test_unplayable_file_is_reported_failed_and_never_started(player, reports, tmp_path):
    corrupt = tmp_path / "corrupt.opus"
    corrupt.write_bytes(b"OggS" + bytes(range(256)) * 20)
    player.play(track(20, corrupt))
    player.play(track(21, tmp_path / "missing.opus"))
    reports.wait_for(lambda e: e == ("failed", 21))
    assert reports.events == [("failed", 20), ("failed", 21)]
    assert player.state == PlaybackState.IDLE


def test_pause_resume_and_volume_take_effect(player, reports, shared_data):
    player.play(track(30, shared_data / "music-4q" / CLIPS[0]))
    reports.wait_for(lambda e: e == ("started", 30))
    player.set_volume(35)
    player.pause_requested(PauseRequested(True))
    deadline = time.monotonic() + 5
    while player.state != PlaybackState.PAUSED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert player.state == PlaybackState.PAUSED and player.volume == 35
    paused_at = player.position_s
    time.sleep(0.7)  # paused: the position must not move meanwhile
    assert abs(player.position_s - paused_at) < 0.2
    player.pause_requested(PauseRequested(False))
    deadline = time.monotonic() + 5
    while player.position_s < paused_at + 0.3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert player.state == PlaybackState.PLAYING and player.position_s >= paused_at + 0.3


def test_stop_is_fast(player, reports, shared_data):
    player.play(track(40, shared_data / "music-4q" / CLIPS[0]))
    reports.wait_for(lambda e: e == ("started", 40))
    t0 = time.monotonic()
    player.stop()
    assert time.monotonic() - t0 < 1.0 and player.state == PlaybackState.STOPPED


def test_the_controller_plays_its_upcoming_list_through_libvlc(short_clips):
    """Controller and player wired as in the daemon: each track that ends is followed by the
    head of the controller's one upcoming list; an early next is a skip."""
    table = dataclasses.replace(random_table(6), paths=[str(short_clips[i % 3]) for i in range(6)],
                                duration_s=np.full(6, 1.5, np.float32))

    async def scenario() -> tuple[list[int], list[int], dict]:
        cfg = Config(mood=MoodConfig(temperature=0.0, no_repeat_share=0.0), player=PlayerConfig(upcoming=3))
        core = Controller(cfg, 0.0, np.random.default_rng(0))
        rec = Recorder()
        player = VlcPlayer(PlayerConfig(vlc_args=["--aout=dummy", "--quiet"]), core, asyncio.get_running_loop())
        core.add_listener(rec)
        core.add_listener(player)
        core.library_loaded(table)
        core.start()
        heads: list[int] = []
        try:
            deadline = asyncio.get_running_loop().time() + 30
            while len(rec.of(TrackStarted)) < 3 and asyncio.get_running_loop().time() < deadline:
                if core.state.upcoming and (not heads or heads[-1] != core.state.upcoming[0].track_id):
                    heads.append(core.state.upcoming[0].track_id)
                await asyncio.sleep(0.02)
            core.player_command(PlayerAction.NEXT)
            while not core.history.skips and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
        finally:
            await asyncio.to_thread(player.stop)
            player.close()
        return [e.track.track_id for e in rec.of(TrackStarted)], heads, dict(core.history.skips)

    started, heads, skips = asyncio.run(scenario())
    assert len(started) >= 3
    # every track after the first was the head of the upcoming list while the one before played
    assert all(t in heads for t in started[1:3]), (started, heads)
    assert len(skips) == 1


def test_an_audio_output_that_does_not_exist_is_reported_and_its_silence_never_learned(short_clips, caplog):
    """libVLC "played" every track to its end on ALSA device hw:9,9 (no such card): the daemon
    said playing, doctor said ok and the completions fed the taste learner (issue 28, item 8)."""
    table = dataclasses.replace(random_table(3), paths=[str(p) for p in short_clips],
                                duration_s=np.full(3, 1.5, np.float32))
    missing = ["--aout=alsa", "--alsa-audio-device=hw:9,9", "--quiet"]

    async def scenario() -> tuple[Controller, Recorder]:
        core = Controller(Config(), 0.0, np.random.default_rng(0))
        rec = Recorder()
        player = VlcPlayer(PlayerConfig(vlc_args=missing), core, asyncio.get_running_loop())
        core.add_listener(rec)
        core.add_listener(player)
        core.library_loaded(table)
        core.start()
        try:
            deadline = asyncio.get_running_loop().time() + 10
            while not rec.of(StageFailed) and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(4.0)  # two clips' time: on a device that exists, one has ended
        finally:
            await asyncio.to_thread(player.stop)
            player.close()
        return core, rec

    core, rec = asyncio.run(scenario())
    (failed,) = rec.of(StageFailed)
    assert failed.stage == "player" and "hw:9,9" in failed.reason
    assert "hw:9,9" in dict(core.state.errors)["player"]
    assert not rec.of(TrackStarted)
    assert not rec.of(PlayEnded)  # no completion for the taste learner to take as a like
    assert any("hw:9,9" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


def test_a_truncated_track_is_recorded_with_the_time_it_played_not_completed(short_clips):
    """A truncated file (its index entry says 30 s, its audio ends after 1.5 s) was recorded as
    completed with its full duration, which the taste learner takes as liked (issue 28, item 11)."""
    table = dataclasses.replace(random_table(3), paths=[str(p) for p in short_clips],
                                duration_s=np.full(3, 30.0, np.float32))

    async def scenario() -> Recorder:
        core = Controller(Config(), 0.0, np.random.default_rng(0))
        rec = Recorder()
        player = VlcPlayer(PlayerConfig(vlc_args=["--aout=dummy", "--quiet"]), core, asyncio.get_running_loop())
        core.add_listener(rec)
        core.add_listener(player)
        core.library_loaded(table)
        core.start()
        try:
            deadline = asyncio.get_running_loop().time() + 20
            while not rec.of(PlayEnded) and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
        finally:
            await asyncio.to_thread(player.stop)
            player.close()
        return rec

    ended = asyncio.run(scenario()).of(PlayEnded)[0]
    assert ended.outcome == PlayOutcome.STOPPED
    # the 1.5 s clip as the wall clock timed it (libVLC's dummy output runs a short clip fast)
    assert 0.0 < ended.heard_s <= 5.0, ended.heard_s


def test_a_track_is_cut_short_only_well_before_its_end():
    assert is_cut_short(1.5, 30.0)
    assert not is_cut_short(29.0, 30.0)  # decoders end a little early or late
    assert not is_cut_short(5.0, 12.0)  # within CUT_SHORT_S of the end
    assert not is_cut_short(3.0, 0.0)  # duration unknown
    assert end_of_track(200.0, 199.5) == (200.0, PlayOutcome.COMPLETED)
    assert end_of_track(200.0, None) == (200.0, PlayOutcome.COMPLETED)
    assert end_of_track(200.0, 31.0) == (31.0, PlayOutcome.STOPPED)
