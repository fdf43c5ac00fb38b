"""The library's paths as an MPD server's URIs and back (pure).

MPD names a song by its path relative to its music directory (``Q1/a.opus``); Mopidy's file
backend by a ``file://`` URI of the absolute path. ``music_directory`` is where MPD's music
directory is on this machine; a path outside it has no MPD URI.
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from urllib.parse import quote, unquote, urlparse

FILE_SCHEME = "file://"


def path_to_uri(path: str, music_directory: str, file_uris: bool = False) -> str | None:
    """The URI of the file at ``path`` (absolute), or None when it is outside
    ``music_directory``; ``file_uris``: a ``file://`` URI (Mopidy) instead of a relative one."""
    if file_uris:
        return FILE_SCHEME + quote(os.path.normpath(path))
    root = PurePosixPath(os.path.normpath(music_directory))
    target = PurePosixPath(os.path.normpath(path))
    try:
        relative = target.relative_to(root)
    except ValueError:
        return None
    return None if str(relative) == "." else str(relative)


def uri_to_path(uri: str, music_directory: str) -> str | None:
    """The absolute path of the file MPD names ``uri``, or None for a stream (``http://``...)."""
    if uri.startswith(FILE_SCHEME):
        return unquote(urlparse(uri).path)
    if "://" in uri:
        return None
    return os.path.normpath(os.path.join(music_directory, uri))
