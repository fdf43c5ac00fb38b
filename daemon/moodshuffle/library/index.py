"""The library index: SQLite in WAL mode, a schema version with migrations, one commit per
analysed track (so a killed scan loses at most the track in progress).

Readers (the daemon's ``load_table``) and the scanner use separate connections; WAL lets the
daemon keep reading the last good index while a scan writes.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from moodshuffle.domain.emotions import EMOTION_COLUMNS
from moodshuffle.domain.tracks import TrackTable
from moodshuffle.library.errors import IndexTooNew
from moodshuffle.library.tags import track_genres

log = logging.getLogger("moodshuffle.library")

SCHEMA_VERSION = 5


def _script(db: sqlite3.Connection, sql: str) -> None:
    """Run statements one by one (``executescript`` would commit the migration's transaction)."""
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1(db: sqlite3.Connection) -> None:
    _script(db,
        """
        CREATE TABLE tracks (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            artist TEXT NOT NULL DEFAULT '',
            album TEXT NOT NULL DEFAULT '',
            duration_s REAL NOT NULL DEFAULT 0,
            emotion BLOB,
            tempo_bpm REAL NOT NULL DEFAULT 0,
            energy REAL NOT NULL DEFAULT 0,
            failed TEXT
        );
        """
    )


def _v2(db: sqlite3.Connection) -> None:
    """v2: key/mode/loudness for transitions, a content fingerprint to follow renames and the
    raw quadrant probabilities of the music model."""
    _script(db,
        """
        ALTER TABLE tracks ADD COLUMN key INTEGER NOT NULL DEFAULT -1;
        ALTER TABLE tracks ADD COLUMN mode INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE tracks ADD COLUMN loudness_db REAL NOT NULL DEFAULT 0;
        ALTER TABLE tracks ADD COLUMN fingerprint TEXT;
        ALTER TABLE tracks ADD COLUMN quadrant_probs BLOB;
        CREATE INDEX tracks_fingerprint ON tracks (fingerprint);
        """
    )


def _v3(db: sqlite3.Connection) -> None:
    """v3: listening history (``library/history.py``). No foreign key to ``tracks``: a rescan
    deletes vanished rows, and what the listener said about a track must outlive that row."""
    _script(db,
        """
        CREATE TABLE plays (
            id INTEGER PRIMARY KEY,
            track_id INTEGER NOT NULL,
            path TEXT NOT NULL,
            started REAL NOT NULL,
            duration_s REAL NOT NULL,
            mood TEXT NOT NULL,
            valence REAL NOT NULL,
            arousal REAL NOT NULL,
            policy TEXT NOT NULL,
            heard_s REAL,
            outcome TEXT CHECK (outcome IN ('completed', 'skipped', 'failed', 'stopped'))
        );
        CREATE INDEX plays_started ON plays (started);
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            track_id INTEGER NOT NULL,
            path TEXT NOT NULL,
            at REAL NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('like', 'dislike')),
            mood TEXT NOT NULL,
            valence REAL NOT NULL,
            arousal REAL NOT NULL,
            policy TEXT NOT NULL
        );
        CREATE INDEX feedback_at ON feedback (at);
        """
    )


def _v4(db: sqlite3.Connection) -> None:
    """v4: the identity of the music model that analysed each track; rows from before have
    none, so the next scan analyses them again."""
    db.execute("ALTER TABLE tracks ADD COLUMN model TEXT")


def _v5(db: sqlite3.Connection) -> None:
    """v5: each track's genre tag (every value, joined with "; "). Rows from before have NULL,
    which tells the next scan to read their tags again without analysing the audio."""
    db.execute("ALTER TABLE tracks ADD COLUMN genre TEXT")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4, _v5]
assert len(MIGRATIONS) == SCHEMA_VERSION


#: SQLite's names for a file that is damaged or is not a database at all
_CORRUPT = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def connect(path: Path, check: bool = False) -> sqlite3.Connection:
    """Open (create, migrate) the index; WAL, foreign keys, a busy timeout for concurrent use.

    A damaged index (random bytes over pages, a truncated file, a bad header) is moved aside as
    ``<name>.damaged-<time>`` and a new one is made, with every row that can still be read from
    the old one (its tracks keep their ids, so the history still names them); what is lost is
    analysed again by the next scan. ``check``: also read every page (``PRAGMA quick_check``),
    for the first open of a process (the daemon's TrackIndex, a scan); a file that is not a
    database at all is found by any open. Raises IndexTooNew for an index of a newer schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _open(path, check)
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", None) not in _CORRUPT and "malformed" not in str(exc):
            raise
        return _rebuild(path, str(exc))


def _open(path: Path, check: bool = False) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise IndexTooNew(f"{path}: the index was written by a newer moodshuffle (schema v{version}; this one"
                              f" reads up to v{SCHEMA_VERSION}): upgrade moodshuffle, or move the file away to"
                              " start a new index")
        if check and version and db.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("database disk image is malformed (quick_check)")
        for v in range(version, SCHEMA_VERSION):
            db.execute("BEGIN IMMEDIATE")
            try:
                MIGRATIONS[v](db)
                db.execute(f"PRAGMA user_version={v + 1}")
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # a full disk may have ended it already: keep the real error
                    db.execute("ROLLBACK")
                raise
    except BaseException:
        db.close()
        raise
    return db


def _rebuild(path: Path, reason: str) -> sqlite3.Connection:
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        old = Path(str(path) + suffix)
        if old.exists():
            os.replace(old, Path(str(aside) + suffix))
    db = _open(path)
    saved = {table: _copy_rows(db, aside, table) for table in ("tracks", "plays", "feedback")}
    log.error("the library index %s was damaged (%s): moved aside as %s; a new index holds the %d tracks, %d plays"
              " and %d likes that could be read; the next scan analyses the rest", path, reason, aside.name,
              saved["tracks"], saved["plays"], saved["feedback"])
    return db


def _copy_rows(db: sqlite3.Connection, old: Path, table: str) -> int:
    """Copy the readable rows of ``table`` from the damaged file ``old`` (same schema only);
    stops at the first unreadable page."""
    copied = 0
    try:
        src = sqlite3.connect(f"file:{old}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return 0
    try:
        if src.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            return 0
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
        marks = ", ".join("?" * len(columns))
        for row in src.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid"):
            try:
                db.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", row)
                copied += 1
            except sqlite3.Error:
                continue
    except sqlite3.DatabaseError:
        pass  # the damaged pages: what came before them is kept
    finally:
        src.close()
    return copied


_Row = tuple[Any, ...]
_BLOB_BYTES = 4 * EMOTION_COLUMNS


def _whole(row: _Row) -> bool:
    """A row whose analysis has the stored shape: an emotion blob of the right size, numbers
    where numbers belong (a damaged page or an old bug can leave text, NULL or a short blob)."""
    return isinstance(row[6], bytes) and len(row[6]) == _BLOB_BYTES \
        and all(isinstance(x, (int, float)) for x in (row[5], *row[7:12]))


class TrackIndex:
    """Read side of the index, safe to share between threads (one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = connect(self.path, check=True)
        self._lock = threading.Lock()

    def load_table(self) -> TrackTable:
        """Every analysed, playable track as a TrackTable."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, path, title, artist, album, duration_s, emotion, tempo_bpm, key, mode, energy,"
                " loudness_db, genre FROM tracks WHERE failed IS NULL AND emotion IS NOT NULL ORDER BY id"
            ).fetchall()
        damaged = [int(r[0]) for r in rows if not _whole(r)]
        rows = [r for r in rows if _whole(r)]
        if rows:
            cols = list(zip(*rows, strict=True))
            emotion = np.frombuffer(b"".join(cols[6]), np.float32).reshape(len(rows), EMOTION_COLUMNS)
            numbers = np.array([cols[5], *cols[7:12]], np.float64)
            # a NaN written by a damaged model must not reach the ranking (one check for the table)
            ok = np.asarray(np.isfinite(emotion).all(axis=1), bool) & np.asarray(np.isfinite(numbers).all(axis=0), bool)
            finite: list[bool] = [bool(x) for x in ok.tolist()]
            if not all(finite):
                damaged += [int(i) for i, ok in zip(cols[0], finite, strict=True) if not ok]
                rows = [r for r, ok in zip(rows, finite, strict=True) if ok]
        if damaged:
            log.warning("the index holds %d tracks whose analysis is damaged (not a number): left out, and"
                        " analysed again at the next scan", len(damaged))
            with self._lock:
                self._db.executemany("UPDATE tracks SET model = NULL WHERE id = ?", [(i,) for i in damaged])
        if not rows:
            return TrackTable.empty()
        cols = list(zip(*rows, strict=True))
        return TrackTable(
            ids=np.array(cols[0], np.int64), paths=list(cols[1]), titles=list(cols[2]), artists=list(cols[3]),
            albums=list(cols[4]), duration_s=np.array(cols[5], np.float32),
            emotion=np.frombuffer(b"".join(cols[6]), np.float32).reshape(len(rows), EMOTION_COLUMNS).copy(),
            tempo_bpm=np.array(cols[7], np.float32), key=np.array(cols[8], np.int8),
            mode=np.array(cols[9], np.int8), energy=np.array(cols[10], np.float32),
            loudness_db=np.array(cols[11], np.float32), genres=[track_genres(g or "") for g in cols[12]],
        )

    def mark_failed(self, path: str, reason: str) -> None:
        """Record that the player cannot play ``path``; it leaves the TrackTable. Its file's
        identity is forgotten, so the next scan looks at it again (a file moved aside while it
        played and moved back unchanged is playable again; a broken one fails again)."""
        with self._lock:
            self._db.execute("UPDATE tracks SET failed = ?, mtime_ns = -1 WHERE path = ?", (reason, path))

    def track_count(self) -> int:
        with self._lock:
            count: int = self._db.execute("SELECT count(*) FROM tracks WHERE failed IS NULL").fetchone()[0]
            return count

    def failed(self) -> list[tuple[str, str]]:
        """(path, reason) of every failed file."""
        with self._lock:
            return self._db.execute("SELECT path, failed FROM tracks WHERE failed IS NOT NULL ORDER BY path").fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()
