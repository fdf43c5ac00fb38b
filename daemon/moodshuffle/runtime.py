"""The TFLite runtime: ``tflite_runtime`` where a Pi image ships it, ``ai_edge_litert`` otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:  # pragma: no cover - depends on the image
    from tflite_runtime.interpreter import Interpreter as _Interpreter
except ImportError:  # pragma: no cover
    from ai_edge_litert.interpreter import Interpreter as _Interpreter


class ModelError(RuntimeError):
    """A model file is missing, unreadable or does not match its contract."""


def load_interpreter(path: Path, num_threads: int = 1) -> Any:
    """Load a ``.tflite`` file and allocate its tensors.

    Raises ModelError naming the file when it is missing or not a valid model.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    try:
        interpreter = _Interpreter(model_path=str(path), num_threads=num_threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{path}: cannot load model: {exc}") from exc
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
