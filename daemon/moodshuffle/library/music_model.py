"""The music emotion model (``models/music_emotion.tflite``): power-spectrogram patches ->
probabilities over the four quadrants of Russell's plane (see models/music_emotion.md)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from moodshuffle.library.analysis import N_FFT, PATCH_FRAMES, PATCHES
from moodshuffle.runtime import ModelError, load_interpreter


class MusicEmotionModel:
    """``predict(patches)``: (PATCHES, PATCH_FRAMES, 257) float32 -> (4,) probabilities over
    ``emotions.QUADRANTS``. Thread-safe (one call at a time)."""

    def __init__(self, path: Path, num_threads: int = 1) -> None:
        self._interp = load_interpreter(path, num_threads)
        inp = self._interp.get_input_details()[0]
        out = self._interp.get_output_details()[0]
        expected = (PATCHES, PATCH_FRAMES, N_FFT // 2 + 1)
        if tuple(inp["shape"]) != expected or tuple(out["shape"])[-1] != 4:
            raise ModelError(f"{path}: input {tuple(inp['shape'])} / output {tuple(out['shape'])}, "
                             f"expected input {expected} and 4 quadrant outputs")
        self._in, self._out = inp["index"], out["index"]
        self._lock = threading.Lock()

    def predict(self, patches: np.ndarray) -> np.ndarray:
        with self._lock:
            self._interp.set_tensor(self._in, np.ascontiguousarray(patches, np.float32))
            self._interp.invoke()
            probs = self._interp.get_tensor(self._out)[0].astype(np.float32)
        return probs / probs.sum()
