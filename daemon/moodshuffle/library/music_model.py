"""The music emotion model (``models/music_emotion.tflite``): power-spectrogram patches ->
probabilities over the four quadrants of Russell's plane (see models/music_emotion.md)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np

from moodshuffle.domain.emotions import QUADRANTS
from moodshuffle.library.analysis import N_FFT, PATCH_FRAMES, PATCHES
from moodshuffle.runtime import ModelError, load_interpreter
from moodshuffle.tflite_metadata import check_class_order


def model_identity(path: Path) -> str:
    """A short content hash of the model file: the index records it with every analysed
    track, so a library analysed by another model is analysed again. Raises ModelError when
    the file cannot be read."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the music model: {exc.strerror}") from exc


class MusicEmotionModel:
    """``predict(patches)``: (PATCHES, PATCH_FRAMES, 257) float32 -> (4,) probabilities over
    ``emotions.QUADRANTS``. Checks the class order in the model's metadata at load.
    Thread-safe (one call at a time)."""

    def __init__(self, path: Path, num_threads: int = 1) -> None:
        self._interp = load_interpreter(path, num_threads)
        inp = self._interp.get_input_details()[0]
        out = self._interp.get_output_details()[0]
        expected = (PATCHES, PATCH_FRAMES, N_FFT // 2 + 1)
        if tuple(inp["shape"]) != expected or tuple(out["shape"])[-1] != 4:
            raise ModelError(f"{path}: input {tuple(inp['shape'])} / output {tuple(out['shape'])}, "
                             f"expected input {expected} and 4 quadrant outputs")
        check_class_order(path, QUADRANTS, "models/train_music.py")
        self._in, self._out = inp["index"], out["index"]
        self._lock = threading.Lock()

    def predict(self, patches: np.ndarray) -> np.ndarray:
        with self._lock:
            self._interp.set_tensor(self._in, np.ascontiguousarray(patches, np.float32))
            self._interp.invoke()
            probs = self._interp.get_tensor(self._out)[0].astype(np.float32)
        return np.asarray(probs / probs.sum(), np.float32)
