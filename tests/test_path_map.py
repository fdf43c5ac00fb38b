"""library.path_map: folder rewrites between the paths a machine sees and those its index stores
(pure: paths.PathMap and the config check)."""

from __future__ import annotations

import pytest

from moodshuffle.config import ConfigError, parse_config
from moodshuffle.paths import PathMap


def test_a_path_under_a_mapped_folder_is_stored_as_the_other_machine_sees_it_and_back():
    pmap = PathMap(["/mnt/nas/music -> /srv/music"])
    assert pmap.stored("/mnt/nas/music/a/b.flac") == "/srv/music/a/b.flac"
    assert pmap.local("/srv/music/a/b.flac") == "/mnt/nas/music/a/b.flac"
    assert pmap.stored("/mnt/nas/music") == "/srv/music"


def test_only_whole_folder_names_match_and_other_paths_pass_unchanged():
    pmap = PathMap(["/mnt/nas/music/ -> /srv/music"])
    assert pmap.stored("/mnt/nas/music2/x.mp3") == "/mnt/nas/music2/x.mp3"
    assert pmap.stored("/home/me/x.mp3") == "/home/me/x.mp3"
    assert pmap.local("/srv/musicals/x.mp3") == "/srv/musicals/x.mp3"


def test_the_first_rule_that_holds_a_path_applies():
    pmap = PathMap(["/mnt/a/special -> /srv/special", "/mnt/a -> /srv/a"])
    assert pmap.stored("/mnt/a/special/x.ogg") == "/srv/special/x.ogg"
    assert pmap.stored("/mnt/a/other/x.ogg") == "/srv/a/other/x.ogg"


def test_the_file_system_root_maps_too():
    assert PathMap(["/ -> /srv/root"]).stored("/x/y.mp3") == "/srv/root/x/y.mp3"
    assert PathMap(["/mnt/all -> /"]).stored("/mnt/all/y.mp3") == "/y.mp3"


def test_no_rules_change_nothing():
    assert PathMap().stored("/a/b.mp3") == "/a/b.mp3" and PathMap().rules == ()


@pytest.mark.parametrize("entry", ["/a /b", "/a -> /b -> /c", "music -> /srv/music", "/mnt/music -> srv"])
def test_a_bad_rule_is_refused_naming_the_key_and_its_position(entry):
    with pytest.raises(ConfigError, match=r"library\.path_map\[1\]"):
        parse_config({"library": {"path_map": ["/ok -> /fine", entry]}})


def test_path_map_must_be_a_list_of_strings():
    with pytest.raises(ConfigError, match=r"library\.path_map"):
        parse_config({"library": {"path_map": "/a -> /b"}})
    assert parse_config({"library": {"path_map": ["/a -> /b"]}}).library.path_map == ["/a -> /b"]
