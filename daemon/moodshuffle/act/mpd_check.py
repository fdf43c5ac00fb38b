"""``moodshuffle doctor`` for ``player.backend: mpd``: MPD reachable, the password accepted, and
the library's tracks known to MPD under ``player.mpd.music_directory`` (it names one it is not)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import mpd

from moodshuffle.act.mpd_uris import path_to_uri
from moodshuffle.config import Config
from moodshuffle.logs import printable

#: how many of the index's tracks are looked up in MPD's database (spread over the index)
SAMPLE = 200
_DIRECTORY_FIX = ("player.mpd.music_directory must be where MPD's music_directory is on this machine (and MPD's "
                  "database up to date: `mpc update`)")


def check_mpd(cfg: Config) -> tuple[bool, str]:
    """(ok, message) as doctor's checks give it; the message says how to fix after " -- fix: "."""
    m = cfg.player.mpd
    where = m.host if m.host.startswith("/") else f"{m.host}:{m.port}"
    client = mpd.MPDClient()
    client.timeout = 5
    try:
        client.connect(m.host, m.port)
    except (OSError, mpd.ConnectionError) as exc:
        return False, (f"cannot reach MPD at {where}: {exc or type(exc).__name__} -- fix: is it running "
                       "(`systemctl status mpd`)? player.mpd.host and player.mpd.port must name it")
    try:
        if m.password:
            try:
                client.password(m.password)
            except mpd.CommandError as exc:
                return False, f"MPD at {where} refused the password: {exc} -- fix: player.mpd.password"
        mopidy = "config" not in client.commands()  # Mopidy plays file:// URIs of local paths
        directory = m.music_directory
        if not mopidy and not directory:
            try:
                directory = str(client.config()["music_directory"])
            except mpd.CommandError as exc:
                return False, (f"MPD at {where} does not say where its music is ({exc}) -- fix: set "
                               "player.mpd.music_directory, or connect through MPD's local socket "
                               "(player.mpd.host: /run/mpd/socket)")
        paths = _indexed_paths(cfg.library.resolved_index_path())
        for path in paths:
            uri = path_to_uri(path, directory, mopidy)
            known = Path(path).is_file() if mopidy else uri is not None and bool(client.find("file", uri))
            if not known:
                return False, (f"MPD at {where} does not know {printable(path)} (checked {len(paths)} of the index's "
                               f"tracks) -- fix: {_DIRECTORY_FIX}")
        server = "Mopidy" if mopidy else f"MPD {client.mpd_version}"
        login = "logged in" if m.password else "no password"
        return True, f"{server} at {where}, {login}, knows the {len(paths)} indexed tracks checked"
    except (OSError, mpd.ConnectionError, mpd.CommandError) as exc:
        return False, f"MPD at {where} failed: {exc} -- fix: is it running? (`systemctl status mpd`)"
    finally:
        with contextlib.suppress(Exception):
            client.disconnect()


def _indexed_paths(index: Path) -> list[str]:
    """Up to SAMPLE paths spread over the index (none before the first scan); read-only."""
    if not index.is_file():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{index}?mode=ro", uri=True)) as db:
        paths = [p for (p,) in db.execute("SELECT path FROM tracks ORDER BY id")]
    step = max(1, len(paths) // SAMPLE)
    return paths[::step][:SAMPLE]
