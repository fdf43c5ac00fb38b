"""What a file's tags say about a track (title, artist, album, genre), and the normalised
genres that the learner groups tracks by."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("moodshuffle.library")

#: separators of several genres written into one tag value ("Rock; Pop", "rock, pop", ID3v2.4's
#: NUL). Not "/": AllMusic's own genres contain it ("Pop/Rock", "Comedy/Spoken").
_GENRE_SEPARATORS = re.compile(r"[;,|\x00]")


@dataclass(frozen=True)
class TrackTags:
    """A file's tags; ``genre`` is every genre value the file carries, joined with "; " ("" when none)."""

    title: str
    artist: str
    album: str
    genre: str


def read_tags(path: Path) -> TrackTags:
    """The tags of ``path``; the file name stands in for a missing title. Unreadable tags give
    empty fields (the audio may still be fine)."""
    title = artist = album = ""
    genres: list[str] = []
    try:
        import mutagen

        tags = mutagen.File(str(path), easy=True)
        if tags is not None and tags.tags is not None:
            title = (tags.get("title") or [""])[0]
            artist = (tags.get("artist") or [""])[0]
            album = (tags.get("album") or [""])[0]
            genres = [str(g) for g in tags.get("genre") or []]
    except Exception as exc:  # mutagen raises many kinds for broken tags
        log.debug("tags of %s unreadable: %s", path, exc)
    return TrackTags(title or path.stem, artist, album, "; ".join(g.strip() for g in genres if g.strip()))


def track_genres(genre: str) -> tuple[str, ...]:
    """Every genre of a genre tag, each case-folded with its whitespace collapsed, in the tag's
    order without repeats (() when none): "  Latin ; Pop/Rock;latin" -> ("latin", "pop/rock").
    One spelling per genre, so that the learner's per-genre term groups a library whose tags are
    written by many hands."""
    names = (" ".join(part.split()).casefold() for part in _GENRE_SEPARATORS.split(genre))
    return tuple(dict.fromkeys(name for name in names if name))
