"""Face mesh: 468 landmarks of a detected face (MediaPipe's face landmark model).

Model: ``face_landmark.tflite`` from the same ``mediapipe==0.10.14`` wheel as the detector
(Apache-2.0), extracted by ``models/fetch_face_detector.py`` with a pinned checksum; see
``models/face_landmarks.md``. It reads a 192x192 RGB crop in [0, 1] and returns 468 (x, y, z)
points in crop pixels plus a face-presence logit.

The crop follows MediaPipe's own face mesh graph (``face_detection_front_detection_to_roi``):
a square 1.5 times the longer side of the detector box, centred on the box and rotated so the
eyes are level. Landmarks are returned in that de-rotated crop frame, which is what the
geometry features want (``perceive/geometry.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from moodshuffle.runtime import ModelError, load_interpreter

MESH_SIZE = 192
N_LANDMARKS = 468
#: MediaPipe's RectTransformationCalculator scale for a detection-derived face ROI
ROI_SCALE = 1.5


@dataclass(frozen=True)
class FaceMesh:
    """points: (468, 3) float32 in pixels of the 192x192 eye-levelled crop (z on the same scale,
    towards the camera negative); presence: the model's face probability in [0, 1]."""

    points: np.ndarray
    presence: float


def mesh_crop_matrix(box: np.ndarray, right_eye: np.ndarray, left_eye: np.ndarray) -> np.ndarray:
    """2x3 affine matrix from frame pixels to the 192x192 mesh crop (eyes level, ROI_SCALE x box)."""
    dx, dy = left_eye - right_eye
    angle = float(np.degrees(np.arctan2(dy, dx)))
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * ROI_SCALE
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    m = np.asarray(cv2.getRotationMatrix2D((float(cx), float(cy)), angle, MESH_SIZE / side), np.float64)
    m[:, 2] += MESH_SIZE / 2 - np.array([cx, cy], np.float64)
    return m


class FaceLandmarker:
    """``mesh(frame_bgr, box, right_eye, left_eye)`` -> FaceMesh. Checks the model's shapes at load.
    Not thread-safe (one interpreter); the camera path calls it from one thread."""

    def __init__(self, path: Path, num_threads: int = 1) -> None:
        self._interp = load_interpreter(path, num_threads)
        (inp,) = self._interp.get_input_details()
        outs = {int(np.prod(d["shape"])): d for d in self._interp.get_output_details()}
        if tuple(inp["shape"]) != (1, MESH_SIZE, MESH_SIZE, 3) or inp["dtype"] != np.float32 \
                or set(outs) != {N_LANDMARKS * 3, 1}:
            shapes = [tuple(d["shape"]) for d in self._interp.get_output_details()]
            raise ModelError(f"{path}: input {tuple(inp['shape'])} {inp['dtype']}, outputs {shapes}; expected "
                             f"float32 (1, {MESH_SIZE}, {MESH_SIZE}, 3) -> {N_LANDMARKS * 3} landmarks and a face flag")
        self._in, self._points, self._flag = inp["index"], outs[N_LANDMARKS * 3]["index"], outs[1]["index"]

    def mesh(self, frame_bgr: np.ndarray, box: np.ndarray, right_eye: np.ndarray,
             left_eye: np.ndarray) -> FaceMesh:
        """``frame_bgr``: uint8 (H, W, 3) BGR; ``box`` (x0, y0, x1, y1) and the eyes in its pixels."""
        m = mesh_crop_matrix(box, right_eye, left_eye)
        # black outside the frame, as MediaPipe pads its ROI
        crop = cv2.warpAffine(frame_bgr, m, (MESH_SIZE, MESH_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        return self.mesh_of_crop(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))

    def mesh_of_crop(self, crop_rgb: np.ndarray) -> FaceMesh:
        """The mesh of an already cut uint8 (192, 192, 3) RGB crop."""
        self._interp.set_tensor(self._in, (crop_rgb.astype(np.float32) * (1 / 255))[None])
        self._interp.invoke()
        points = self._interp.get_tensor(self._points).reshape(N_LANDMARKS, 3).astype(np.float32)
        logit = float(np.clip(self._interp.get_tensor(self._flag).reshape(()), -80, 80))
        return FaceMesh(points, 1 / (1 + np.exp(-logit)))
