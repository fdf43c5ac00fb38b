"""The genres the learner groups tracks by (pure logic)."""

from __future__ import annotations

from moodshuffle.library.tags import track_genres


def test_track_genres_keeps_every_genre_in_order_folding_case_and_whitespace():
    assert track_genres("Latin; Pop/Rock") == track_genres("latin,pop/rock") == ("latin", "pop/rock")
    assert track_genres("Heavy   Metal|Rock") == ("heavy metal", "rock")
    assert track_genres("Jazz\x00Latin") == ("jazz", "latin")  # ID3v2.4 writes several values NUL-separated
    assert track_genres("  LATIN  ") == ("latin",)


def test_a_slash_stays_inside_one_genre_and_empty_or_repeated_values_are_dropped():
    assert track_genres("Pop/Rock; Latin") == ("pop/rock", "latin")  # AllMusic's own genre names hold a slash
    assert track_genres("") == track_genres(" ; , ") == ()
    assert track_genres(" ; Jazz;; jazz ;JAZZ") == ("jazz",)  # one spelling counts once
