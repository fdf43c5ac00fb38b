"""``moodshuffle doctor`` with ``player.backend: mpd`` against a real MPD: reachable and mapped
passes; MPD down, a wrong music directory or a track MPD does not know fails, naming the key to fix
(and the track)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from moodshuffle.config import parse_config
from moodshuffle.doctor import run_checks
from moodshuffle.library.index import connect
from tests.broker import free_port
from tests.mpd_server import MpdServer, clips

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def server(shared_data, tmp_path_factory):
    music = clips(shared_data, tmp_path_factory.mktemp("music"), ["audio/Q2/MT0000011357.opus",
                                                                   "audio/Q3/MT0000004637.opus"], 2.0)
    s = MpdServer(tmp_path_factory.mktemp("mpd"), music[0].parent).start()
    yield s
    s.stop()


def _index(tmp_path: Path, paths: list[Path]) -> Path:
    index = tmp_path / "index.sqlite3"
    with contextlib.closing(connect(index)) as db:
        db.executemany("INSERT INTO tracks (path, size, mtime_ns) VALUES (?, 0, 0)", [(str(p),) for p in paths])
        db.commit()
    return index


def _player_check(tmp_path: Path, index: Path, **mpd) -> tuple[bool, str]:
    cfg = parse_config({"library": {"paths": [str(tmp_path)], "index_path": str(index)},
                        "player": {"backend": "mpd", "mpd": {"host": "127.0.0.1", **mpd}}})
    [result] = run_checks(cfg, ["player"])
    return result.ok, result.message


def test_a_reachable_mpd_that_knows_the_indexed_tracks_passes(server, tmp_path):
    index = _index(tmp_path, sorted(server.music.glob("*.opus")))
    ok, message = _player_check(tmp_path, index, port=server.port, music_directory=str(server.music))
    assert ok, message
    assert "MPD 0.2" in message and "2 indexed tracks" in message


def test_a_track_mpd_does_not_know_is_named(server, tmp_path):
    stranger = server.music / "not-in-mpds-database.opus"
    index = _index(tmp_path, [*sorted(server.music.glob("*.opus")), stranger])
    ok, message = _player_check(tmp_path, index, port=server.port, music_directory=str(server.music))
    assert not ok and str(stranger) in message and "player.mpd.music_directory" in message


def test_a_wrong_music_directory_fails_naming_the_key(server, tmp_path):
    index = _index(tmp_path, sorted(server.music.glob("*.opus")))
    ok, message = _player_check(tmp_path, index, port=server.port, music_directory=str(tmp_path))
    assert not ok and "player.mpd.music_directory" in message


def test_mpd_not_running_fails_naming_host_and_port(tmp_path):
    ok, message = _player_check(tmp_path, tmp_path / "none.sqlite3", port=free_port())
    assert not ok and "cannot reach MPD" in message and "player.mpd.port" in message
