"""The library stage: keeps the controller's table in step with the index. Opens the index and
hands its table over at start, scans in the background (on start if configured, every
``library.rescan_interval_h``, on request) and marks the tracks the player cannot play as
failed. A listener of the controller (``RescanRequested``, ``TrackFailed``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from moodshuffle.config import Config
from moodshuffle.core import CoreListener, RescanRequested, TrackFailed
from moodshuffle.library.index import TrackIndex
from moodshuffle.library.table import TrackTable
from moodshuffle.supervise import in_daemon_thread

log = logging.getLogger("moodshuffle")


class LibraryInputs(Protocol):
    """What the stage tells the controller."""

    def library_loaded(self, table: TrackTable) -> None: ...
    def scan_started(self) -> None: ...
    def scan_finished(self, table: TrackTable | None) -> None: ...


class LibraryStage(CoreListener):
    """``open`` once, then ``run`` (supervised) until cancelled; ``close`` at shutdown."""

    def __init__(self, cfg: Config, core: LibraryInputs, stopping: Callable[[], bool]) -> None:
        self._cfg = cfg
        self._core = core
        self._stopping = stopping
        self._rescan = asyncio.Event()
        self._index: TrackIndex | None = None

    async def open(self) -> None:
        """Open the index and hand its table to the controller."""
        path = self._cfg.library.resolved_index_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._index = await asyncio.to_thread(TrackIndex, path)
        table = await asyncio.to_thread(self._index.load_table)
        if len(table) == 0:
            log.warning("the library index %s has no playable tracks yet: waiting for a scan of %s", path,
                        ", ".join(self._cfg.library.paths))
        self._core.library_loaded(table)

    async def run(self) -> None:
        """Background scans: on start (if configured), on schedule, on request."""
        interval = self._cfg.library.rescan_interval_h * 3600
        if not self._cfg.library.scan_on_start:
            await self._wait_rescan(interval)
        while True:
            await self._scan()
            await self._wait_rescan(interval)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()

    # ----------------------------------------------------------------- CoreListener
    def rescan_requested(self, event: RescanRequested) -> None:
        self._rescan.set()

    def track_failed(self, event: TrackFailed) -> None:
        if self._index is not None:
            self._index.mark_failed(event.track.path, event.reason)

    # ----------------------------------------------------------------- scanning
    async def _wait_rescan(self, interval_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._rescan.wait(), timeout=interval_s or None)
        self._rescan.clear()

    async def _scan(self) -> None:
        from moodshuffle.library.scanner import scan_library

        assert self._index is not None, "open() first"
        self._core.scan_started()
        table: TrackTable | None = None
        try:
            # a daemon thread: a read stuck on a hung mount must not hold up SIGTERM
            report = await in_daemon_thread(scan_library, self._cfg.library, self._cfg.models, None, self._stopping)
            log.info("library scan: %s", report)
            table = await asyncio.to_thread(self._index.load_table)
        finally:
            self._core.scan_finished(table)  # None: the scan failed, the table we have stands
