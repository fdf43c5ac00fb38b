"""Library paths as MPD URIs and back (pure)."""

from __future__ import annotations

from moodshuffle.act.mpd_uris import path_to_uri, uri_to_path


def test_a_path_in_the_music_directory_is_relative_and_comes_back():
    uri = path_to_uri("/srv/music/Q1/a b.opus", "/srv/music/")
    assert uri == "Q1/a b.opus"
    assert uri_to_path(uri, "/srv/music") == "/srv/music/Q1/a b.opus"


def test_a_path_outside_the_music_directory_has_no_uri():
    assert path_to_uri("/home/me/a.opus", "/srv/music") is None
    assert path_to_uri("/srv/musicx/a.opus", "/srv/music") is None


def test_mopidy_gets_file_uris_quoted_and_back():
    uri = path_to_uri("/srv/music/Q1/a b#1.opus", "", file_uris=True)
    assert uri == "file:///srv/music/Q1/a%20b%231.opus"
    assert uri_to_path(uri, "") == "/srv/music/Q1/a b#1.opus"


def test_a_stream_has_no_path():
    assert uri_to_path("http://radio.example/stream", "/srv/music") is None
