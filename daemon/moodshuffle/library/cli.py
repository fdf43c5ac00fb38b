"""``moodshuffle scan``: a progress bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time

from moodshuffle.config import Config
from moodshuffle.library.index import TrackIndex
from moodshuffle.library.scanner import ScanProgress, scan_library

log = logging.getLogger("moodshuffle.scan")


def _bar(p: ScanProgress, width: int = 30) -> str:
    filled = int(width * p.done / max(1, p.total))
    eta = time.strftime("%H:%M:%S", time.gmtime(p.eta_s))
    return f"\r[{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total}  {p.tracks_per_s:5.1f} tracks/s  ETA {eta}"


def scan_command(cfg: Config) -> int:
    """Scan ``library.paths`` into the index; print a summary and every failed file. Exit 0
    (failed files are reported, not fatal)."""
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
    log.info("scanning %s into %s", ", ".join(cfg.library.paths), index_path)
    report = scan_library(cfg.library, cfg.models, progress)
    if tty:
        sys.stderr.write("\n")
    print(f"scan: {report}")
    index = TrackIndex(index_path)
    try:
        failed = index.failed()
        print(f"index: {index.track_count()} playable tracks, {len(failed)} failed")
        for path, reason in failed:
            print(f"failed: {path}: {reason}")
    finally:
        index.close()
    return 0
