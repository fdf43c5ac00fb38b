"""What the index's storage can do: the daemon's start and ``doctor`` say in one line why the
index cannot be opened or written (a read-only folder, a full disk) instead of a traceback.

A read-only index folder and a full disk both made ``run`` exit 1 with a traceback
(``unable to open database file``, ``disk I/O error``) while ``doctor`` said ok.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

#: less free space than this beside the index is "full": SQLite needs room for its WAL and journal
MIN_FREE_BYTES = 1024 * 1024


class StorageError(RuntimeError):
    """The index cannot be opened or written; the message names the folder and the fix."""


def storage_problem(index: Path) -> str | None:
    """Why the index at ``index`` cannot be written now (its folder read-only or not writable by
    this user, its disk full), or None."""
    folder = index.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        probe = folder / f".moodshuffle-write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        if exc.errno == errno.EROFS:
            return f"the index folder {folder} is on a read-only file system -- fix: set library.index_path to a " \
                   "writable folder, or remount it read-write"
        if exc.errno == errno.ENOSPC:
            return full_message(folder)
        return f"cannot write to the index folder {folder}: {exc.strerror} -- fix: make it writable by this user " \
               "or set library.index_path"
    if shutil.disk_usage(folder).free < MIN_FREE_BYTES:
        return full_message(folder)
    return None


def full_message(folder: Path) -> str:
    free = shutil.disk_usage(folder).free // 1024 if folder.exists() else 0
    return f"the disk holding {folder} is full ({free} KiB free) -- fix: free some space"


def explain(exc: BaseException, index: Path) -> StorageError | None:
    """A StorageError saying why ``exc`` (raised opening or writing the index) happened, or None
    when the storage is not why."""
    if not isinstance(exc, (sqlite3.OperationalError, OSError)):
        return None
    problem = storage_problem(index)
    if problem is None and isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
        problem = full_message(index.parent)
    return None if problem is None else StorageError(f"library index {index}: {problem}")
