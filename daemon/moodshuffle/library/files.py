"""Find the audio files under the library folders, and say what could not be looked at.

Only regular files are candidates: a FIFO or a device named ``*.mp3`` would block the scan
when opened. Symbolic links to folders are followed (a music folder often links to a disk),
each real folder once, so a link back to a folder being scanned is reported, not looped
through. A folder that is missing or cannot be listed is *unavailable*, which is not the same
as empty: the scanner keeps the tracks it indexed there (see ``scanner.scan_library``).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from moodshuffle.library.decode import AUDIO_EXTENSIONS


@dataclass
class LibraryFiles:
    """What a walk of the library folders found. Paths are absolute, as ``os.fsdecode`` gives
    them (a name that is not valid UTF-8 keeps its bytes as surrogate escapes)."""

    #: regular, non-empty audio files with UTF-8 names: path -> (size, mtime_ns)
    files: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: entries that look like audio (or folders) but cannot be analysed: (path, reason)
    problems: list[tuple[str, str]] = field(default_factory=list)
    #: folders (and dangling links) whose contents could not be seen: path -> reason
    unavailable: dict[str, str] = field(default_factory=dict)
    #: configured folders that exist but hold nothing at all (an unmounted mount point looks so)
    empty_roots: list[str] = field(default_factory=list)


def root_unavailable(root: str, holds_tracks: bool) -> str | None:
    """Why the configured library folder ``root`` (absolute) is unavailable now, or None: the
    scan's rule (missing, not a folder, cannot be listed, or empty while the index ``holds_tracks``
    under it, as an unmounted mount point is), without walking the folder."""
    try:
        st = os.stat(root)
        if not stat.S_ISDIR(st.st_mode):
            return "not a folder"
        with os.scandir(root) as entries:
            empty = next(entries, None) is None
    except OSError as exc:
        return "missing (not mounted?)" if exc.errno == errno.ENOENT else exc.strerror or str(exc)
    return "empty (an unmounted drive?)" if empty and holds_tracks else None


def find_audio_files(roots: list[Path]) -> LibraryFiles:
    """Walk ``roots`` (following folder links, each real folder once)."""
    found = LibraryFiles()
    seen: dict[tuple[int, int], str] = {}
    for root in roots:
        top = os.path.abspath(root)
        try:
            st = os.stat(top)
        except OSError as exc:
            found.unavailable[top] = "missing (not mounted?)" if exc.errno == errno.ENOENT else exc.strerror or str(exc)
            continue
        if not stat.S_ISDIR(st.st_mode):
            found.unavailable[top] = "not a folder"
            continue
        _walk(top, (st.st_dev, st.st_ino), (), seen, found, is_root=True)
    return found


def _walk(folder: str, key: tuple[int, int], ancestors: tuple[tuple[int, int], ...],
          seen: dict[tuple[int, int], str], found: LibraryFiles, is_root: bool = False) -> None:
    if key in seen:
        what = "symbolic link loop: it leads back to" if key in ancestors else "the same folder as"
        found.problems.append((folder, f"{what} {seen[key]}, not scanned twice"))
        return
    seen[key] = folder
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        reason = f"cannot list folder: {exc.strerror or exc}"
        found.unavailable[folder] = reason
        found.problems.append((folder, reason))
        return
    if is_root and not entries:
        found.empty_roots.append(folder)
    for entry in entries:
        path = entry.path
        try:
            st = os.stat(path)  # follows links
        except OSError as exc:
            _unstattable(entry, exc, found)
            continue
        if stat.S_ISDIR(st.st_mode):
            _walk(path, (st.st_dev, st.st_ino), (*ancestors, key), seen, found)
        elif os.path.splitext(entry.name)[1].lower() in AUDIO_EXTENSIONS:
            why = _not_analysable(path, st)
            if why:
                found.problems.append((path, why))
            else:
                found.files[path] = (st.st_size, st.st_mtime_ns)


def _unstattable(entry: os.DirEntry[str], exc: OSError, found: LibraryFiles) -> None:
    if exc.errno == errno.ELOOP:
        reason = "symbolic link loop"
    elif entry.is_symlink() and exc.errno == errno.ENOENT:
        reason = f"dangling symbolic link to {os.readlink(entry.path)}"
        # it may have led to a folder on a disk that is not mounted now: keep what it held
        found.unavailable[entry.path] = reason
    else:
        reason = f"cannot read: {exc.strerror or exc}"
    if entry.is_symlink() or os.path.splitext(entry.name)[1].lower() in AUDIO_EXTENSIONS:
        found.problems.append((entry.path, reason))


def _not_analysable(path: str, st: os.stat_result) -> str | None:
    """Why the audio-named entry at ``path`` cannot be analysed, or None."""
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
                else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a file")
        return f"not a regular file ({kind}): skipped"
    if st.st_size == 0:
        return "empty file"
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8: rename the file"
    return None
