"""Incremental scan of the music folders into the index.

A file is analysed only when new or changed (path, size, mtime) or when the index holds the
analysis of another music model (its identity is stored with each track). A file that vanished while a
new file with the same content fingerprint appeared was renamed: its row follows it without
re-analysis. An unchanged file whose tags were never read into the current schema (an index
from before the genre, v5) has only its tags read again: upgrading costs seconds, not a rescan
of the audio. Vanished files are forgotten. A file that cannot be decoded is recorded as
failed with the reason and never stops the scan. Every track is committed on its own, so a
scan killed at any moment loses at most the tracks in progress and the next scan resumes.
Tracks are analysed in ``library.scan_workers`` processes (``library/workers.py``); this
process alone writes the index.

A library folder that is missing or cannot be listed (a USB disk or NAS not mounted yet) is
*unavailable*, not empty: its tracks stay in the index untouched and the report names it, and
the scan after it comes back analyses nothing it already knew. A configured folder that
exists but holds nothing at all counts as unavailable too when the index has tracks under it,
because an unmounted mount point looks exactly like that; to forget a folder's tracks, take
it out of ``library.paths``. Entries that cannot be analysed (FIFOs and devices, empty files,
dangling links and link loops, names that are not UTF-8) are reported as failed, never opened,
and not stored, so they are looked at again by every scan.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from moodshuffle.config import LibraryConfig, ModelsConfig
from moodshuffle.library.files import LibraryFiles, find_audio_files
from moodshuffle.library.index import connect
from moodshuffle.library.tags import TrackTags, read_tags
from moodshuffle.logs import printable
from moodshuffle.paths import PathMap, is_inside

if TYPE_CHECKING:
    from moodshuffle.library.analysis import TrackFeatures

log = logging.getLogger("moodshuffle.library")

class _Known(NamedTuple):
    """What the index knows of a path before the scan."""

    track_id: int
    size: int
    mtime_ns: int
    fingerprint: str | None
    model: str | None
    #: the genre tag was never read (an index from before genres)
    untagged: bool


@dataclass(frozen=True)
class ScanProgress:
    done: int
    total: int
    path: str
    tracks_per_s: float
    eta_s: float


@dataclass
class ScanReport:
    analysed: int = 0
    unchanged: int = 0
    renamed: int = 0
    #: unchanged files whose tags alone were read again (an index from before the genre)
    retagged: int = 0
    removed: int = 0
    #: this scan's failures, (path, reason); paths as the file system gives them (use
    #: ``logs.printable`` to show them)
    failed: list[tuple[str, str]] = field(default_factory=list)
    #: configured folders that were unavailable (missing, unlistable, or an empty mount point) -> why
    unavailable_roots: dict[str, str] = field(default_factory=dict)
    #: tracks left in the index untouched because their folder was unavailable
    kept: int = 0
    seconds: float = 0.0
    stopped: bool = False

    def __str__(self) -> str:
        text = (f"{self.analysed} analysed, {self.unchanged} unchanged"
                + (f" ({self.retagged} tags re-read)" if self.retagged else "")
                + f", {self.renamed} renamed, "
                f"{self.removed} removed, {len(self.failed)} failed in {self.seconds:.1f} s"
                + (" (stopped early)" if self.stopped else ""))
        if self.unavailable_roots:
            text += (f"; unavailable: {', '.join(printable(r) for r in self.unavailable_roots)} "
                     f"({self.kept} tracks kept)")
        return text


def fingerprint(path: Path, size: int) -> str:
    """Content fingerprint: size + first and last 64 KiB (renames keep it, edits change it)."""
    h = hashlib.sha1(str(size).encode())
    # O_NONBLOCK: if a FIFO replaced the file since the walk, open must not wait for a writer
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    with open(fd, "rb") as f:
        h.update(f.read(65536))
        if size > 131072:
            f.seek(-65536, os.SEEK_END)
            h.update(f.read(65536))
    return h.hexdigest()


def scan_library(
    library: LibraryConfig,
    models: ModelsConfig,
    progress: Callable[[ScanProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    working: Callable[[str], None] | None = None,
) -> ScanReport:
    """Bring the index at ``library.resolved_index_path()`` up to date with ``library.paths``.
    Blocking (run it in a worker thread); ``should_stop`` is polled between tracks; ``working``
    is told each file before it is read (a file on a hung mount is then named)."""
    from moodshuffle.library.music_model import model_identity
    from moodshuffle.library.workers import TrackAnalysts, scan_workers

    started = time.monotonic()
    report = ScanReport()
    model_id = model_identity(Path(models.music))
    db = connect(library.resolved_index_path(), check=True)
    try:
        # the index holds paths as library.path_map stores them; files are opened where they are here
        pmap = PathMap(library.path_map)
        found = _stored(find_audio_files(library.resolved_paths()), pmap)
        roots = [Path(pmap.stored(os.path.abspath(r))) for r in library.resolved_paths()]
        files = found.files
        known = {row[0]: _Known(*row[1:]) for row in
                 db.execute("SELECT path, id, size, mtime_ns, fingerprint, model, genre IS NULL FROM tracks")}
        kept = _keep_unavailable(known, found, roots, report)
        for path, reason in found.problems:
            report.failed.append((path, reason))
            log.warning("cannot analyse %s: %s", printable(path), reason)
        todo = [p for p, (size, mtime) in files.items()
                if p not in known or (known[p].size, known[p].mtime_ns) != (size, mtime) or known[p].model != model_id]
        report.unchanged = len(files) - len(todo)
        todo_set = set(todo)
        untagged = sorted(p for p in files if p not in todo_set and p in known and known[p].untagged)
        gone = [p for p in known if p not in files and p not in kept]
        # only a current analysis may follow a rename; a stale one is dropped and its file analysed
        vanished = {known[p].fingerprint: (p, known[p].track_id) for p in gone
                    if known[p].fingerprint and known[p].model == model_id}
        for p in [p for p in gone if not (known[p].fingerprint and known[p].model == model_id)]:
            db.execute("DELETE FROM tracks WHERE path = ?", (p,))
            report.removed += 1

        report.retagged, report.stopped = _read_tags_again(db, untagged, pmap, should_stop)
        total, fingerprints = len(todo), {}  # local path -> (stored path, fingerprint)
        handled = 0

        def to_analyse() -> Iterator[str]:
            """The paths to analyse, in order; renames and unreadable files are dealt with here."""
            nonlocal handled
            for path in sorted(todo):
                if report.stopped or (should_stop is not None and should_stop()):
                    report.stopped = True
                    return
                size, mtime = files[path]
                local = pmap.local(path)
                if working is not None:
                    working(local)
                try:
                    fp = fingerprint(Path(local), size)
                except OSError as exc:
                    handled += 1
                    report.failed.append((path, f"unreadable: {exc.strerror}"))
                    log.warning("cannot read %s: %s", printable(path), exc.strerror)
                    continue
                if path not in known and fp in vanished:
                    handled += 1
                    old_path, track_id = vanished.pop(fp)
                    db.execute("UPDATE tracks SET path = ?, size = ?, mtime_ns = ? WHERE id = ?",
                               (path, size, mtime, track_id))
                    report.renamed += 1
                    continue
                fingerprints[local] = (path, fp)
                yield local

        with TrackAnalysts(models, scan_workers(library.scan_workers)) as analysts:
            for local, result in analysts.analyse(to_analyse()):
                path, fp = fingerprints.pop(local)
                size, mtime = files[path]
                _upsert(db, path, size, mtime, fp, result.tags, result.features, result.error, model_id)
                handled += 1
                if result.error is None:
                    report.analysed += 1
                else:
                    report.failed.append((path, result.error))
                    log.warning("cannot analyse %s: %s", printable(path), printable(result.error))
                if progress is not None:
                    elapsed = time.monotonic() - started
                    rate = handled / elapsed if elapsed > 0 else 0.0
                    progress(ScanProgress(handled, total, path, rate, (total - handled) / rate if rate else 0.0))
        for old_path, _ in vanished.values():
            db.execute("DELETE FROM tracks WHERE path = ?", (old_path,))
            report.removed += 1
    finally:
        db.close()
    report.seconds = time.monotonic() - started
    return report


def _read_tags_again(db: sqlite3.Connection, paths: list[str], pmap: PathMap,
                     should_stop: Callable[[], bool] | None) -> tuple[int, bool]:
    """Read the tags of the unchanged files ``paths`` into their rows, one commit each (a
    killed scan resumes where it stopped); returns (files read, stopped early)."""
    for done, path in enumerate(paths):
        if should_stop is not None and should_stop():
            return done, True
        tags = read_tags(Path(pmap.local(path)))
        db.execute("UPDATE tracks SET title = ?, artist = ?, album = ?, genre = ? WHERE path = ?",
                   (tags.title, tags.artist, tags.album, tags.genre, path))
    return len(paths), False


def _stored(found: LibraryFiles, pmap: PathMap) -> LibraryFiles:
    """``found`` with the paths the index stores (problems keep the paths they have here)."""
    if not pmap.rules:
        return found
    return LibraryFiles({pmap.stored(p): v for p, v in found.files.items()}, found.problems,
                        {pmap.stored(p): why for p, why in found.unavailable.items()},
                        [pmap.stored(p) for p in found.empty_roots])


def _keep_unavailable(known: dict[str, _Known], found: LibraryFiles, roots: list[Path], report: ScanReport) -> set[str]:
    """The indexed paths to leave untouched because their folder is unavailable; fills in
    ``report.unavailable_roots`` and ``report.kept`` and logs each unavailable folder once."""
    unavailable = dict(found.unavailable)
    for root in found.empty_roots:
        if any(is_inside(p, root) for p in known):
            unavailable[root] = "empty (an unmounted drive?)"
    kept = {p for p in known if p not in found.files and any(is_inside(p, u) for u in unavailable)}
    report.kept = len(kept)
    report.unavailable_roots = {r: unavailable[r] for r in (os.path.abspath(r) for r in roots) if r in unavailable}
    for folder, reason in unavailable.items():
        held = sum(is_inside(p, folder) for p in kept)
        if folder in report.unavailable_roots or held:
            log.warning("library folder %s is unavailable (%s): its %d indexed tracks are kept until it is back",
                        printable(folder), reason, held)
    return kept


def _upsert(db: sqlite3.Connection, path: str, size: int, mtime: int, fp: str, tags: TrackTags,
            f: TrackFeatures | None, failed: str | None, model_id: str) -> None:
    values = dict(path=path, size=size, mtime_ns=mtime, fingerprint=fp, title=tags.title, artist=tags.artist,
                  album=tags.album, genre=tags.genre, failed=failed, model=model_id, emotion=None,
                  quadrant_probs=None, duration_s=0.0, tempo_bpm=0.0, key=-1, mode=1, energy=0.0, loudness_db=0.0)
    if f is not None:
        values.update(emotion=f.emotion.astype("float32").tobytes(),
                      quadrant_probs=f.quadrant_probs.astype("float32").tobytes(), duration_s=f.duration_s,
                      tempo_bpm=f.tempo_bpm, key=f.key, mode=f.mode, energy=f.energy, loudness_db=f.loudness_db)
    cols = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    updates = ", ".join(f"{k} = excluded.{k}" for k in values if k != "path")
    db.execute(f"INSERT INTO tracks ({cols}) VALUES ({marks}) ON CONFLICT(path) DO UPDATE SET {updates}", values)
