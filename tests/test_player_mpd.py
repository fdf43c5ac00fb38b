"""The MPD player against a real MPD (null audio output) on real 4Q clips: it plays what it is
asked, keeps the songs after the current one equal to the daemon's list without ever cutting the
current song, respects what a person does in another MPD client, skips a file MPD cannot play and
comes back after MPD restarts."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from moodshuffle.act.backend import open_player
from moodshuffle.act.mpd_player import MpdPlayer
from moodshuffle.config import MpdConfig, PlayerConfig
from moodshuffle.core import PauseRequested, PlayerAction, PlayRequested, QueueReordered, ReorderReason, VolumeChanged
from moodshuffle.domain.emotions import Emotion
from moodshuffle.domain.mood import MoodState
from moodshuffle.domain.policy import Policy
from moodshuffle.domain.tracks import ScoreParts, Track, UpcomingTrack
from tests.mpd_server import MpdServer, Reports, clips

pytestmark = pytest.mark.real

SOURCES = ["audio/Q1/MT0000040632.opus", "audio/Q1/MT0000082187.opus", "audio/Q1/MT0000414517.opus",
           "audio/Q1/MT0000442827.opus", "audio/Q1/MT0000540286.opus"]
#: long enough that the current song is still playing while a test reorders what follows it
CLIP_S = 6.0


@pytest.fixture(scope="module")
def music(shared_data, tmp_path_factory) -> list[Path]:
    return clips(shared_data, tmp_path_factory.mktemp("music"), SOURCES, CLIP_S)


@pytest.fixture
def server(music, tmp_path):
    s = MpdServer(tmp_path / "mpd", music[0].parent).start()
    yield s
    s.stop()


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def player(server, reports):
    p = MpdPlayer(MpdConfig(host="127.0.0.1", port=server.port, music_directory=str(server.music)), reports, 50)
    assert p.connected.wait(10)
    yield p
    p.close()


def tracks(music: list[Path]) -> list[Track]:
    return [Track(i, str(p), f"title{i}", f"artist{i}", "", CLIP_S) for i, p in enumerate(music)]


def reordered(*upcoming: Track) -> QueueReordered:
    chosen = tuple(UpcomingTrack(i, t, (0.0, 0.0), None, 0.0, ScoreParts()) for i, t in enumerate(upcoming))
    mood = MoodState(np.full(7, 1 / 7), 0.0, 0.0, 0.0, Emotion.NEUTRAL, 0, None, 0.0)
    return QueueReordered(ReorderReason.MOOD_CHANGED, Policy.MATCH, chosen, mood, None)


def tail(server: MpdServer) -> tuple[int, list[str]]:
    """(the current song's id, the files after it) as another MPD client sees them."""
    c = server.client()
    try:
        status, queue = c.status(), c.playlistinfo()
    finally:
        c.disconnect()
    return int(status["songid"]), [s["file"] for s in queue[int(status["song"]) + 1:]]


def wait_tail(server: MpdServer, files: list[str], timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while (seen := tail(server))[1] != files:
        assert time.monotonic() < deadline, f"MPD's queue after the current song: {seen[1]}, wanted {files}"
        time.sleep(0.05)
    return seen[0]


def test_the_requested_track_plays_and_the_upcoming_list_follows_it(player, reports, server, music):
    t = tracks(music)
    player.queue_reordered(reordered(t[0], t[1], t[2]))
    player.play_requested(PlayRequested(t[0]))
    reports.wait_for(lambda e: e == ("started", 0))
    wait_tail(server, ["clip1.opus", "clip2.opus"])


def test_a_new_list_reorders_what_follows_and_never_cuts_the_current_song(player, reports, server, music):
    t = tracks(music)
    player.queue_reordered(reordered(t[0], t[1], t[2]))
    player.play_requested(PlayRequested(t[0]))
    reports.wait_for(lambda e: e == ("started", 0))
    current = wait_tail(server, ["clip1.opus", "clip2.opus"])
    player.queue_reordered(reordered(t[3], t[2], t[1]))
    assert wait_tail(server, ["clip3.opus", "clip2.opus", "clip1.opus"]) == current
    player.queue_reordered(reordered(t[4]))
    assert wait_tail(server, ["clip4.opus"]) == current
    assert [e for e in reports.events if e[0] not in ("volume", "stage")] == [("started", 0)]


def test_a_song_a_person_queues_stays_first_and_one_they_choose_is_reported(player, reports, server, music):
    t = tracks(music)
    player.queue_reordered(reordered(t[0], t[1]))
    player.play_requested(PlayRequested(t[0]))
    reports.wait_for(lambda e: e == ("started", 0))
    wait_tail(server, ["clip1.opus"])
    person = server.client()
    theirs = int(person.addid("clip4.opus", int(person.status()["song"]) + 1))
    player.queue_reordered(reordered(t[2], t[3]))
    wait_tail(server, ["clip4.opus", "clip2.opus", "clip3.opus"])
    time.sleep(0.5)
    person.playid(theirs)
    person.disconnect()
    changed = reports.wait_for(lambda e: e[0] == "changed")
    assert changed[1] == str(music[4]) and 0.3 < changed[2] < CLIP_S
    assert not [e for e in reports.events if e[0] in ("finished", "failed", "stopped")]


def test_pause_play_and_volume_from_another_client_are_reported_and_commands_act_on_mpd(player, reports, server,
                                                                                        music):
    t = tracks(music)
    player.play_requested(PlayRequested(t[0]))
    reports.wait_for(lambda e: e == ("started", 0))
    person = server.client()
    person.pause(1)
    reports.wait_for(lambda e: e == ("command", PlayerAction.PAUSE))
    person.play()
    reports.wait_for(lambda e: e == ("command", PlayerAction.PLAY))
    person.setvol(30)
    reports.wait_for(lambda e: e == ("volume", 30))
    player.volume_changed(VolumeChanged(65))
    player.pause_requested(PauseRequested(True))
    deadline = time.monotonic() + 5
    while (status := person.status())["state"] != "pause" or status["volume"] != "65":
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    person.disconnect()


def test_a_file_mpd_cannot_open_is_reported_failed_and_the_next_song_plays(player, reports, server, music, tmp_path):
    t = tracks(music)
    gone = tmp_path / "moved-away.opus"
    music[2].rename(gone)  # in MPD's database, not on disk any more
    try:
        player.queue_reordered(reordered(t[2], t[1]))
        player.play_requested(PlayRequested(t[2]))
        failed = reports.wait_for(lambda e: e[0] == "failed")
        assert failed[1] == 2
        player.play_requested(PlayRequested(t[1]))
        reports.wait_for(lambda e: e == ("started", 1))
    finally:
        gone.rename(music[2])
    unknown = Track(99, str(server.music / "never-scanned.opus"), "x", "y", "", 3.0)
    player.play_requested(PlayRequested(unknown))
    assert "MPD" in reports.wait_for(lambda e: e[:2] == ("failed", 99))[2]


def test_the_player_comes_back_after_mpd_restarts(player, reports, server, music):
    t = tracks(music)
    player.queue_reordered(reordered(t[0], t[1]))
    player.play_requested(PlayRequested(t[0]))
    reports.wait_for(lambda e: e == ("started", 0))
    server.stop()
    deadline = time.monotonic() + 5
    while player.connected.is_set():
        assert time.monotonic() < deadline, "the player did not notice MPD going away"
        time.sleep(0.05)
    # MPD gone is an error in the state (it used to be a log line only), cleared when it is back
    gone = reports.wait_for(lambda e: e[:2] == ("stage", "player") and e[2] is not None)
    assert f"127.0.0.1:{server.port}" in gone[2]
    player.queue_reordered(reordered(t[3]))
    reports.events.clear()
    server.start()
    assert player.connected.wait(10)
    reports.wait_for(lambda e: e == ("stage", "player", None))
    wait_tail(server, ["clip3.opus"])


def test_the_backend_setting_picks_the_mpd_player(server):
    mpd = MpdConfig(host="127.0.0.1", port=server.port, music_directory=str(server.music))
    player = open_player(PlayerConfig(backend="mpd", mpd=mpd), Reports())
    try:
        assert isinstance(player, MpdPlayer) and player.connected.wait(10)
    finally:
        player.close()
