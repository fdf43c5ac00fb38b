"""Where moodshuffle finds its models and keeps its state."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository's ``models/`` folder (the package runs from a checkout or an editable
#: install); ``MOODSHUFFLE_MODELS`` overrides it for packaged installs.
MODELS_DIR = Path(os.environ.get("MOODSHUFFLE_MODELS", Path(__file__).resolve().parents[2] / "models"))


def state_dir() -> Path:
    """The daemon's writable state folder: systemd's ``$STATE_DIRECTORY`` or ~/.local/state."""
    env = os.environ.get("STATE_DIRECTORY")
    if env:
        return Path(env.split(":")[0])
    return Path.home() / ".local" / "state" / "moodshuffle"


def folder_prefix(folder: str) -> str:
    """What every path under ``folder`` starts with (``folder`` and a separator)."""
    return folder.rstrip(os.sep) + os.sep


def is_inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (both absolute, as strings: no file
    system call, so a hung mount cannot block it)."""
    return path == folder or path.startswith(folder_prefix(folder))


class PathMap:
    """Prefix rewrites between the paths this machine sees (local) and the paths the index
    stores, for an index built on one machine and used on another over the same music: a
    desktop that mounts the NAS share at /mnt/nas/music scans with ``library.path_map:
    ["/mnt/nas/music -> /srv/music"]`` and writes the paths the speaker sees. The first rule
    whose folder holds a path applies; a path under none is stored as it is."""

    SEPARATOR = "->"

    def __init__(self, entries: list[str] | tuple[str, ...] = ()) -> None:
        """``entries``: "LOCAL -> STORED", both absolute folders; ValueError naming what is wrong."""
        rules = []
        for entry in entries:
            if entry.count(self.SEPARATOR) != 1:
                raise ValueError(f"must be 'LOCAL -> STORED' (one '{self.SEPARATOR}'), got {entry!r}")
            local, stored = (os.path.expanduser(p.strip()) for p in entry.split(self.SEPARATOR))
            if not (os.path.isabs(local) and os.path.isabs(stored)):
                raise ValueError(f"both sides must be absolute folders, got {entry!r}")
            rules.append((os.path.normpath(local), os.path.normpath(stored)))
        self.rules = tuple(rules)

    @staticmethod
    def _rewrite(path: str, rules: list[tuple[str, str]]) -> str:
        for before, after in rules:
            if is_inside(path, before):
                return after.rstrip(os.sep) + path[len(before.rstrip(os.sep)):] or os.sep
        return path

    def stored(self, local: str) -> str:
        """The index's path for the file this machine sees at ``local``."""
        return self._rewrite(local, list(self.rules))

    def local(self, stored: str) -> str:
        """Where this machine sees the file the index stores as ``stored``."""
        return self._rewrite(stored, [(b, a) for a, b in self.rules])
