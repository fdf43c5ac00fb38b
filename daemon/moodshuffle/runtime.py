"""The TFLite runtime: ``tflite_runtime`` where a Pi image ships it, ``ai_edge_litert`` otherwise."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from moodshuffle.logs import printable


class ModelError(RuntimeError):
    """A model file is missing, unreadable, corrupt or does not match its contract. Retrying
    soon cannot fix it, so a stage that raises it is retried only after a long pause (see
    ``supervise``)."""


@functools.cache
def _interpreter_class() -> Any:
    # imported on first use so that ``ModelError`` costs nothing to import (the CLI and the
    # supervisor need it before any model is loaded)
    try:  # pragma: no cover - depends on the image
        from tflite_runtime.interpreter import Interpreter
    except ImportError:  # pragma: no cover
        from ai_edge_litert.interpreter import Interpreter
    return Interpreter


def load_interpreter(path: Path, num_threads: int = 1) -> Any:
    """Load a ``.tflite`` file and allocate its tensors.

    Raises ModelError naming the file (escaped for a log line) and the reason when it is
    missing, empty, unreadable or not a valid model."""
    path = Path(path)
    name = printable(str(path))
    if not path.is_file():
        raise ModelError(f"{name}: model file not found" if not path.exists() else f"{name}: not a regular file")
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ModelError(f"{name}: cannot read model: {exc.strerror}") from exc
    if size == 0:
        raise ModelError(f"{name}: empty model file")
    try:
        interpreter = _interpreter_class()(model_path=str(path), num_threads=num_threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        reason = " ".join(str(exc).split())  # one line: the runtime's messages may span several
        raise ModelError(f"{name}: cannot load model: {reason}") from exc
    return interpreter


def quantize_input(x: Any, detail: dict[str, Any]) -> Any:
    """Convert float input to the tensor's dtype using its quantization (scale, zero point)."""
    import numpy as np

    dtype = detail["dtype"]
    if dtype in (np.int8, np.uint8):
        scale, zero = detail["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(np.asarray(x, np.float32) / scale + zero), info.min, info.max).astype(dtype)
    return np.asarray(x, dtype)


def dequantize_output(y: Any, detail: dict[str, Any]) -> Any:
    """Convert an output tensor back to float32 using its quantization."""
    import numpy as np

    if detail["dtype"] in (np.int8, np.uint8):
        scale, zero = detail["quantization"]
        return (y.astype(np.float32) - zero) * scale
    return y.astype(np.float32)
