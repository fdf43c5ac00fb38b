"""The core's view of the library: the table of playable tracks, whether a scan runs, and the
configured folders that are unavailable now (their tracks kept out of the table until they are
back). Pure: the library stage (``stages/library.py``) does the file system."""

from __future__ import annotations

import logging

import numpy as np

from moodshuffle.core.state import LibraryState
from moodshuffle.domain.tracks import Track, TrackTable
from moodshuffle.logs import printable
from moodshuffle.paths import is_inside

log = logging.getLogger("moodshuffle")


class LibraryView:
    def __init__(self) -> None:
        self.table = TrackTable.empty()
        self.scanning = False
        self.unavailable: tuple[str, ...] = ()

    @property
    def state(self) -> LibraryState:
        return LibraryState(len(self.table), self.scanning, self.unavailable)

    def set_unavailable(self, unavailable: tuple[str, ...], tracks: int) -> None:
        """The folders unavailable now (absolute paths); ``tracks``: the new table's size (logged)."""
        if unavailable != self.unavailable:
            if unavailable:
                log.warning("library unavailable: %s (its tracks are kept and played again when it is back)",
                            ", ".join(printable(f) for f in unavailable))
            else:
                log.info("library available again: %d tracks", tracks)
        self.unavailable = unavailable

    def in_unavailable(self, track: Track) -> bool:
        """Whether ``track``'s file is in a folder that is unavailable now."""
        return any(is_inside(track.path, folder) for folder in self.unavailable)

    def row(self, track_id: int) -> int | None:
        """The row of ``track_id`` in the table, None when it is not there."""
        rows = np.flatnonzero(self.table.ids == track_id)
        return int(rows[0]) if len(rows) else None

    def track(self, track_id: int) -> Track | None:
        row = self.row(track_id)
        return self.table.track(row) if row is not None else None

    def by_path(self, path: str) -> Track | None:
        """The playable track whose file is ``path`` (absolute), None when there is none."""
        rows = [i for i, p in enumerate(self.table.paths) if p == path]
        return self.table.track(rows[0]) if rows else None
