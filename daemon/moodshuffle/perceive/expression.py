"""The face expression model (``models/face_emotion.tflite``, see models/face_emotion.md).

The one place where the camera path and ``eval faces`` meet the model: ``prepare_face`` turns
a grayscale face crop into the model's input exactly as in training, ``ExpressionModel``
returns probabilities over EMOTIONS.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from moodshuffle.domain.emotions import EMOTIONS, N_EMOTIONS
from moodshuffle.paths import MODELS_DIR
from moodshuffle.runtime import ModelError, dequantize_output, load_interpreter, quantize_input
from moodshuffle.tflite_metadata import CONTRACT_KEY, check_class_order

FACE_SIZE = 48
__all__ = ["CONTRACT_KEY", "ExpressionModel", "prepare_face"]  # CONTRACT_KEY: for models/train_face.py


def prepare_face(gray: np.ndarray) -> np.ndarray:
    """Any-size uint8 grayscale face crop (H, W) -> (48, 48) uint8, as the FER2013 training
    images (area interpolation when shrinking; raw pixels, the model normalises them itself)."""
    if gray.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale face crop, got shape {gray.shape}")
    if gray.shape == (FACE_SIZE, FACE_SIZE):
        return gray.astype(np.uint8, copy=False)
    interp = cv2.INTER_AREA if min(gray.shape[:2]) >= FACE_SIZE else cv2.INTER_LINEAR
    return cv2.resize(gray, (FACE_SIZE, FACE_SIZE), interpolation=interp).astype(np.uint8)


class ExpressionModel:
    """``predict(faces)``: (N, 48, 48) uint8 -> (N, 7) float32 probabilities over EMOTIONS,
    rows summing to 1. Checks the model's contract at load. Thread-safe."""

    def __init__(self, path: Path | None = None, num_threads: int = 1) -> None:
        path = Path(path) if path is not None else MODELS_DIR / "face_emotion.tflite"
        self._interp = load_interpreter(path, num_threads)
        inp = self._interp.get_input_details()[0]
        out = self._interp.get_output_details()[0]
        if tuple(inp["shape"]) != (1, FACE_SIZE, FACE_SIZE, 1) or tuple(out["shape"]) != (1, N_EMOTIONS):
            raise ModelError(f"{path}: input {tuple(inp['shape'])}, output {tuple(out['shape'])}; "
                             f"expected (1, 48, 48, 1) and (1, {N_EMOTIONS})")
        if inp["dtype"] not in (np.int8, np.uint8) or out["dtype"] not in (np.int8, np.uint8):
            raise ModelError(f"{path}: expected a full-integer model, got {inp['dtype']} -> {out['dtype']}")
        check_class_order(path, EMOTIONS, "models/train_face.py")
        self._in, self._out = inp, out
        self._lock = threading.Lock()

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """(N, 48, 48) or one (48, 48) uint8 face from ``prepare_face`` -> (N, 7) float32."""
        faces = np.asarray(faces)
        if faces.ndim == 2:
            faces = faces[None]
        if faces.shape[1:] != (FACE_SIZE, FACE_SIZE):
            raise ValueError(f"expected faces of shape (N, 48, 48) from prepare_face, got {faces.shape}")
        probs = np.zeros((len(faces), N_EMOTIONS), np.float32)
        with self._lock:
            for i, face in enumerate(faces):
                self._interp.set_tensor(self._in["index"], quantize_input(face[None, :, :, None], self._in))
                self._interp.invoke()
                probs[i] = dequantize_output(self._interp.get_tensor(self._out["index"])[0], self._out)
        # int8 probabilities are multiples of 1/256 and may sum to 1 +- a few steps
        floored = np.maximum(probs, 0) + 1e-6
        return np.asarray(floored / floored.sum(axis=1, keepdims=True), np.float32)

