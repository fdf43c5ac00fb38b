"""Write a model's contract into its ``.tflite`` file as a JSON metadata entry (build time,
needs TensorFlow's flatbuffer schema); the daemon reads it back with
``moodshuffle.tflite_metadata.check_class_order``."""

from __future__ import annotations

import json

import numpy as np


def with_contract(blob: bytes, key: str, contract: dict) -> bytes:
    """The flatbuffer ``blob`` with ``contract`` added as the JSON metadata entry ``key``."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(blob, 0))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(json.dumps(contract).encode(), np.uint8)
    entry = schema.MetadataT()
    entry.name, entry.buffer = key, len(model.buffers)
    model.buffers.append(buffer)
    model.metadata = (model.metadata or []) + [entry]
    builder = flatbuffers.Builder(len(blob) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
