"""``moodshuffle scan``: a progress bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time

from moodshuffle.config import Config
from moodshuffle.library.index import TrackIndex
from moodshuffle.library.scanner import ScanProgress, scan_library
from moodshuffle.logs import printable

log = logging.getLogger("moodshuffle.scan")


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
        report = scan_library(cfg.library, cfg.models, progress)
    finally:
        if tty:
            sys.stderr.write("\n")
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
