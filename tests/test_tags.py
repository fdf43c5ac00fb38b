"""The genre the learner groups tracks by (pure logic)."""

from __future__ import annotations

from moodshuffle.library.tags import first_genre


def test_first_genre_takes_the_first_of_several_and_folds_case_and_whitespace():
    assert first_genre("Latin; Pop/Rock") == first_genre("  LATIN  ") == first_genre("latin,jazz") == "latin"
    assert first_genre("Heavy   Metal|Rock") == "heavy metal"
    assert first_genre("Rock\x00Pop") == "rock"  # ID3v2.4 writes several values NUL-separated


def test_a_slash_stays_inside_one_genre_and_empty_tags_are_no_genre():
    assert first_genre("Pop/Rock; Latin") == "pop/rock"  # AllMusic's own genre names hold a slash
    assert first_genre("") == first_genre(" ; , ") == ""
    assert first_genre(" ; Jazz") == "jazz"  # an empty first value is skipped
