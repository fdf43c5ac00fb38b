"""Fitted settings kept as JSON beside the models (the face tuning, the mood naming): written and
read with their format and class order checked, errors naming the file and the key; the checksum by
which they name the model files they were fitted for."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from moodshuffle.domain.emotions import EMOTIONS
from moodshuffle.runtime import ModelError


def read_model_json(path: Path, fmt: str, what: str) -> dict[str, Any]:
    """The JSON object in ``path``, whose ``format`` must be ``fmt`` and whose ``classes`` must be
    EMOTIONS in order; ModelError naming the file (and ``what`` it should hold) otherwise."""
    try:
        raw = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ModelError(f"{path}: cannot read {what}: {exc}") from exc
    except ValueError as exc:
        raise ModelError(f"{path}: not a JSON {what} file: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != fmt:
        raise ModelError(f"{path}: format: expected {fmt!r}")
    if raw.get("classes") != list(EMOTIONS):
        raise ModelError(f"{path}: classes: order {raw.get('classes')} differs from {list(EMOTIONS)}")
    return raw


def model_json_text(fmt: str, fields: dict[str, Any], provenance: dict[str, object]) -> str:
    """The text of a settings file ``read_model_json`` reads back: its ``format`` and EMOTIONS'
    order first, then ``fields``, then how it was made (``provenance``)."""
    return json.dumps({"format": fmt, "classes": list(EMOTIONS), **fields, **provenance}, indent=1)


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes: how these settings name the model file they were fitted for."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def recorded_for(sha256: str | None, path: Path | None) -> bool:
    """Whether a checksum a settings file recorded names the file at ``path`` (True when nothing
    was recorded; False when something was and there is no file to compare)."""
    return sha256 is None or (path is not None and file_sha256(path) == sha256)
