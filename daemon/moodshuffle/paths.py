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
