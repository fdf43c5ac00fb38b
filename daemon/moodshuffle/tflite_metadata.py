"""Read the named metadata entries of a ``.tflite`` file without TensorFlow.

A model carries its input contract (class order, input encoding) as a JSON metadata entry
written by its training script; the daemon checks it at load. Neither ``tflite_runtime`` nor
``ai_edge_litert`` exposes metadata, so this walks the flatbuffer itself (TFLite schema:
``Model.buffers`` is field 4, ``Model.metadata`` field 6, ``Metadata`` = (name, buffer),
``Buffer.data`` field 0).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from moodshuffle.runtime import ModelError

_MODEL_BUFFERS, _MODEL_METADATA = 4, 6

#: metadata entry in which each training script stores its model's contract (JSON: the input
#: encoding and the class order)
CONTRACT_KEY = "moodshuffle.contract"


def read_metadata(path: Path) -> dict[str, bytes]:
    """Every metadata entry of the model at ``path``, by name (empty when it has none).

    Raises ValueError when the file is not a TFLite flatbuffer."""
    blob = Path(path).read_bytes()
    if blob[4:8] != b"TFL3":
        raise ValueError(f"{path}: not a TFLite model (no TFL3 identifier)")
    try:
        return _entries(blob)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: malformed TFLite flatbuffer: {exc}") from exc


def check_class_order(path: Path, classes: tuple[str, ...], exporter: str) -> dict[str, Any]:
    """The contract stored in the model at ``path``; raises ModelError when it is missing,
    unreadable or names another class order than ``classes`` (``exporter``: the script that
    writes the contract, named in the error)."""
    try:
        raw = read_metadata(path).get(CONTRACT_KEY)
        contract: dict[str, Any] | None = json.loads(raw) if raw is not None else None
    except ValueError as exc:  # also json.JSONDecodeError
        raise ModelError(f"{path}: unreadable contract metadata: {exc}") from exc
    if contract is None:
        raise ModelError(f"{path}: no '{CONTRACT_KEY}' metadata; export the model with {exporter}")
    if tuple(contract.get("classes", ())) != tuple(classes):
        raise ModelError(f"{path}: class order {contract.get('classes')} differs from {list(classes)}")
    return contract


def _entries(blob: bytes) -> dict[str, bytes]:
    def u32(pos: int) -> int:
        value: int = struct.unpack_from("<I", blob, pos)[0]
        return value

    def field(table: int, index: int) -> int | None:
        vtable = table - struct.unpack_from("<i", blob, table)[0]
        if 4 + 2 * index >= struct.unpack_from("<H", blob, vtable)[0]:
            return None
        offset = struct.unpack_from("<H", blob, vtable + 4 + 2 * index)[0]
        return table + offset if offset else None

    def vector(pos: int) -> tuple[int, int]:  # (first element, length)
        start = pos + u32(pos)
        return start + 4, u32(start)

    def tables(pos: int) -> list[int]:
        first, n = vector(pos)
        return [first + 4 * k + u32(first + 4 * k) for k in range(n)]

    root = u32(0)
    metadata, buffers = field(root, _MODEL_METADATA), field(root, _MODEL_BUFFERS)
    if metadata is None or buffers is None:
        return {}
    all_buffers = tables(buffers)
    found = {}
    for entry in tables(metadata):
        name_at, buffer_at = field(entry, 0), field(entry, 1)
        if name_at is None or buffer_at is None:
            continue
        name_start, name_len = vector(name_at)
        data_at = field(all_buffers[u32(buffer_at)], 0)
        if data_at is None:  # data kept outside the flatbuffer (models over 2 GB)
            continue
        data_start, data_len = vector(data_at)
        found[blob[name_start : name_start + name_len].decode()] = blob[data_start : data_start + data_len]
    return found
