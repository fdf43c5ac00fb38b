"""``moodshuffle scan``: a progress bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable

from moodshuffle.config import Config
from moodshuffle.library.index import TrackIndex
from moodshuffle.library.scanner import ScanProgress, ScanReport, scan_library
from moodshuffle.logs import printable

log = logging.getLogger("moodshuffle.scan")

#: after Ctrl-C, how long the scan may take to stop at the end of its track
STOP_WAIT_S = 2.0


def _bar(p: ScanProgress, width: int = 30) -> str:
    filled = int(width * p.done / max(1, p.total))
    eta = time.strftime("%H:%M:%S", time.gmtime(p.eta_s))
    return f"\r[{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total}  {p.tracks_per_s:5.1f} tracks/s  ETA {eta}"


def scan_command(cfg: Config) -> int:
    """Scan ``library.paths`` into the index; print a summary and every failed file (this
    scan's and those recorded in the index), names escaped. Exit 0, or 1 when a library folder
    was unavailable (its tracks are kept, but the scan could not look at it). Failed files are
    reported, not fatal."""
    tty = sys.stderr.isatty()
    last_log = [0.0]

    def progress(p: ScanProgress) -> None:
        if tty:
            sys.stderr.write(_bar(p))
            sys.stderr.flush()
        elif time.monotonic() - last_log[0] >= 5 or p.done == p.total:
            last_log[0] = time.monotonic()
            log.info("scanned %d/%d (%.1f tracks/s, ETA %.0f s)", p.done, p.total, p.tracks_per_s, p.eta_s)

    index_path = cfg.library.resolved_index_path()
    log.info("scanning %s into %s", printable(", ".join(cfg.library.paths)), printable(str(index_path)))
    try:
        report = _interruptible_scan(cfg, progress)
    finally:
        if tty:
            sys.stderr.write("\n")
    if report is None:
        return 130
    print(f"scan: {report}")
    for root, reason in report.unavailable_roots.items():
        print(f"unavailable: {printable(root)}: {reason}; its tracks are kept in the index and nothing was removed "
              "-- fix: mount it (or take it out of library.paths)")
    index = TrackIndex(index_path)
    try:
        failed = dict(index.failed())
        failed.update(report.failed)
        print(f"index: {index.track_count()} playable tracks, {len(failed)} failed")
        for path, reason in sorted(failed.items()):
            print(f"failed: {printable(path)}: {printable(reason)}")
    finally:
        index.close()
    return 1 if report.unavailable_roots else 0


def _interruptible_scan(cfg: Config, progress: Callable[[ScanProgress], None]) -> ScanReport | None:
    """The scan in a daemon thread, so that Ctrl-C stops it even while it is stuck on a file of a
    hung mount (a read there never returns to Python); None when Ctrl-C stopped it."""
    stop = threading.Event()
    outcome: list[ScanReport | BaseException] = []
    working = [""]

    def at(path: str) -> None:
        working[0] = path

    done = threading.Event()

    def scan() -> None:
        try:
            outcome.append(scan_library(cfg.library, cfg.models, progress, stop.is_set, at))
        except BaseException as exc:  # handed to the main thread
            outcome.append(exc)
        finally:
            done.set()

    # an Event, not Thread.join: a join that Ctrl-C interrupts can leave is_alive() saying False
    threading.Thread(target=scan, name="scan", daemon=True).start()
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        stop.set()
        if not done.wait(STOP_WAIT_S):
            log.error("interrupted: the scan does not answer on %s (a hung mount?); leaving it behind -- what was "
                      "analysed is in the index", printable(working[0]))
        else:
            log.info("interrupted: the scan stopped; what was analysed is in the index")
        return None
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]
