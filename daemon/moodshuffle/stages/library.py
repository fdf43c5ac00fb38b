"""The library stage: keeps the controller's table in step with the index. Opens the index and
hands its table over at start, scans in the background (on start if configured, every
``library.rescan_interval_h``, on request) and marks the tracks the player cannot play as
failed. A listener of the controller (``RescanRequested``, ``TrackFailed``).

A configured folder that is unavailable (a USB disk or NAS mounted late, or unplugged while
playing) is not empty: its tracks stay in the index, the controller gets the table without
them and the list of unavailable folders (shown in the state), and the folder is looked at
again every few seconds (5 s growing to 30 s) until it is back; then a scan (which analyses
nothing it knew) hands the whole table over again and the music resumes. A track the player
cannot find because its folder went away is not marked failed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import Protocol

from moodshuffle.config import Config
from moodshuffle.core import CoreListener, RescanRequested, TrackFailed
from moodshuffle.domain.tracks import TrackTable
from moodshuffle.library.files import root_unavailable
from moodshuffle.library.index import TrackIndex
from moodshuffle.logs import printable
from moodshuffle.paths import is_inside
from moodshuffle.supervise import Backoff, in_daemon_thread

log = logging.getLogger("moodshuffle")

#: an unavailable library folder is looked at again after this many seconds, growing to the max
RETRY_FIRST_S = 5.0
RETRY_MAX_S = 30.0
#: a library folder that does not answer this fast at start (a hung network mount) is unavailable
CHECK_TIMEOUT_S = 10.0
#: a scan that has been reading one file this long is stuck there (a hung mount): it is said,
#: with the file, in the log and the state (``scanning: true`` alone gave no hint)
SCAN_STALL_S = 60.0


class LibraryInputs(Protocol):
    """What the stage tells the controller."""

    def library_loaded(self, table: TrackTable, unavailable: tuple[str, ...] = ()) -> None: ...
    def scan_started(self) -> None: ...
    def scan_finished(self, table: TrackTable | None, unavailable: tuple[str, ...] = ()) -> None: ...
    def stage_failed(self, stage: str, reason: str | None) -> None: ...


class LibraryStage(CoreListener):
    """``open`` once, then ``run`` (supervised) until cancelled; ``close`` at shutdown."""

    def __init__(self, cfg: Config, core: LibraryInputs, stopping: Callable[[], bool]) -> None:
        self._cfg = cfg
        self._core = core
        self._stopping = stopping
        self._rescan = asyncio.Event()
        self._index: TrackIndex | None = None
        #: every playable track the index holds, those in unavailable folders included
        self._table = TrackTable.empty()
        #: configured folders (absolute) unavailable now -> why
        self._unavailable: dict[str, str] = {}
        self._retry = Backoff(RETRY_FIRST_S, RETRY_MAX_S, jitter=0.1)
        self._checks: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        """Open the index and hand its table (less the unavailable folders) to the controller."""
        path = self._cfg.library.resolved_index_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._index = await asyncio.to_thread(TrackIndex, path)
        self._table = await asyncio.to_thread(self._index.load_table)
        if len(self._table) == 0:
            log.warning("the library index %s has no playable tracks yet: waiting for a scan of %s", path,
                        ", ".join(self._cfg.library.paths))
        try:
            self._unavailable = await asyncio.wait_for(in_daemon_thread(self._check_roots), CHECK_TIMEOUT_S)
        except TimeoutError:
            self._unavailable = {root: "not answering (a hung mount?)" for root in self._roots()}
        self._core.library_loaded(*self._playable())

    async def run(self) -> None:
        """Background scans: on start (if configured), on schedule, on request; while a folder
        is unavailable, a scan as soon as it is back."""
        if not self._cfg.library.scan_on_start:
            await self._wait_next()
        while True:
            await self._scan()
            await self._wait_next()

    async def _wait_next(self) -> None:
        if self._unavailable:
            await self._wait_until_back()
        else:
            await self._wait_rescan(self._cfg.library.rescan_interval_h * 3600)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()

    # ----------------------------------------------------------------- CoreListener
    def rescan_requested(self, event: RescanRequested) -> None:
        self._rescan.set()

    def track_failed(self, event: TrackFailed) -> None:
        # the folder is looked at in a thread: a hung mount must not block the event loop
        task = asyncio.get_running_loop().create_task(self._track_failed(event))
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _track_failed(self, event: TrackFailed) -> None:
        root = next((r for r in self._roots() if is_inside(event.track.path, r)), None)
        reason = None
        if root is not None:
            try:
                reason = await asyncio.wait_for(in_daemon_thread(root_unavailable, root, True), CHECK_TIMEOUT_S)
            except TimeoutError:
                reason = "not answering (a hung mount?)"
        if root is not None and reason is not None:
            # not the track's fault: its folder went away (a disk unplugged while playing)
            if root not in self._unavailable:
                self._unavailable[root] = reason
                log.warning("library folder %s is unavailable (%s): its tracks are kept until it is back",
                            printable(root), reason)
                self._core.library_loaded(*self._playable())
                self._rescan.set()  # the run loop then waits for the folder to come back
            return
        if self._index is not None:
            self._index.mark_failed(event.track.path, event.reason)

    # ----------------------------------------------------------------- availability
    def _roots(self) -> list[str]:
        return [os.path.abspath(p) for p in self._cfg.library.resolved_paths()]

    def _check_roots(self) -> dict[str, str]:
        """The configured folders unavailable now -> why (file system calls: run it in a thread)."""
        out = {}
        for root in self._roots():
            holds = len(self._table.without_under([root])) < len(self._table)
            reason = root_unavailable(root, holds)
            if reason is not None:
                out[root] = reason
        return out

    def _playable(self) -> tuple[TrackTable, tuple[str, ...]]:
        """The table the controller may play from, and the unavailable folders; together, so the
        table and the upcoming list chosen from it change at once."""
        return self._table.without_under(self._unavailable), tuple(self._unavailable)

    async def _wait_until_back(self) -> None:
        """Look at the unavailable folders again every few seconds (growing); return when one is
        back or a rescan is asked for."""
        self._retry.reset()
        while True:
            if await self._wait_rescan(self._retry.next_delay()):
                return
            try:
                now = await asyncio.wait_for(in_daemon_thread(self._check_roots), CHECK_TIMEOUT_S)
            except TimeoutError:
                continue
            back = [root for root in self._unavailable if root not in now]
            if back:
                log.info("library folder %s is back: scanning", ", ".join(printable(r) for r in back))
                return

    # ----------------------------------------------------------------- scanning
    async def _wait_rescan(self, interval_s: float) -> bool:
        """Wait ``interval_s`` (0: forever) or for a rescan request; True when requested."""
        requested = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._rescan.wait(), timeout=interval_s or None)
            requested = True
        self._rescan.clear()
        return requested

    async def _scan(self) -> None:
        from moodshuffle.library.scanner import scan_library

        assert self._index is not None, "open() first"
        self._core.scan_started()
        done = False
        loop = asyncio.get_running_loop()
        working: list[str | float] = ["", loop.time()]  # the file read now, since when (from the scan thread)

        def at(path: str) -> None:
            working[:] = [path, loop.time()]

        watch = loop.create_task(self._watch_scan(working))
        try:
            # a daemon thread: a read stuck on a hung mount must not hold up SIGTERM
            report = await in_daemon_thread(scan_library, self._cfg.library, self._cfg.models, None, self._stopping,
                                            at)
            log.info("library scan: %s", report)
            self._unavailable = dict(report.unavailable_roots)
            self._table = await asyncio.to_thread(self._index.load_table)
            done = True
        finally:
            watch.cancel()
            if done:
                self._core.scan_finished(*self._playable())
            else:
                self._core.scan_finished(None)  # the scan failed: the table we have stands

    async def _watch_scan(self, working: list[str | float]) -> None:
        """Say once per file when the scan has been reading it for SCAN_STALL_S (a hung mount)."""
        told = ""
        while True:
            await asyncio.sleep(min(5.0, SCAN_STALL_S / 4))
            path, since = str(working[0]), float(working[1])
            stuck_s = asyncio.get_running_loop().time() - since
            if path and path != told and stuck_s >= SCAN_STALL_S:
                told = path
                reason = f"the scan has been waiting {stuck_s:.0f} s on {printable(path)} (a hung mount?)"
                log.warning("library: %s; the music plays on from the index", reason)
                self._core.stage_failed("library", reason)
