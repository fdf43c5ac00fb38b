"""Faces in a frame -> FaceObservations: detection, aligned crop, expression.

Detector: MediaPipe's BlazeFace full-range model (Apache-2.0, 192x192 input, faces up to about
5 m, six keypoints), taken from the ``mediapipe`` wheel by ``models/fetch_face_detector.py``
with a pinned checksum. Its SSD anchors are decoded here in numpy. The choice and its measured
recall and speed are in the README ("Face detection").

Crop: the face is rotated so the eyes are level and cut as a square around the detector box,
scaled and shifted as the tuning for the expression model says (``perceive/tuning.py``,
``models/face_tuning.json``), straight into a 48x48 grayscale image with one affine warp.

Expression: the CNN's probabilities, corrected as the tuning says: fused with a reading of the
face mesh's geometry (``perceive/landmarks.py``, ``perceive/geometry.py``) when its fusion
weight is above 0, and the neutral correction.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from moodshuffle.config import CameraConfig, ModelsConfig
from moodshuffle.domain.observations import FaceObservation
from moodshuffle.perceive.expression import FACE_SIZE, ExpressionModel, prepare_face
from moodshuffle.perceive.geometry import geometry_features
from moodshuffle.perceive.landmarks import FaceLandmarker
from moodshuffle.perceive.tuning import DEFAULT_CROP_SCALE, DEFAULT_CROP_SHIFT_Y, FaceTuning
from moodshuffle.runtime import ModelError, load_interpreter

log = logging.getLogger("moodshuffle.faces")

NMS_IOU = 0.3
#: keypoint sanity (fractions of the box width); see Detection.plausible
MIN_EYE_SPAN = 0.15
MIN_NOSE_DROP = 0.12
#: frames darker than this (mean luminance 0..255) are contrast-enhanced before detection
DARK_MEAN = 70
#: side of each of the four overlapping tiles searched when the whole frame shows no face
TILE_SHARE = 0.6
#: faces smaller than this (frame pixels) are confirmed by a second look at CONFIRM_ZOOM times their size
CONFIRM_BELOW_PX = 48
CONFIRM_ZOOM = 3.0


@dataclass(frozen=True)
class Detection:
    """A face: box (x0, y0, x1, y1) in frame pixels, score in [0, 1], keypoints (6, 2) in pixels:
    right eye, left eye, nose tip, mouth, right ear, left ear (the subject's right/left)."""

    box: np.ndarray
    score: float
    keypoints: np.ndarray

    @property
    def size(self) -> int:
        return int(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))

    def plausible(self) -> bool:
        """Face-shaped keypoints: the eyes apart and side by side (head roll within 45 degrees),
        the nose clearly below the eye line (measured across the eye axis, so a tilted head
        passes). Rejects the face-like textures BlazeFace scores at 0.5-0.7 (cartoon letters in
        ``no_face.mp4``), which no real face in ``../shared/data/faces`` failed."""
        right_eye, left_eye, nose = self.keypoints[0], self.keypoints[1], self.keypoints[2]
        width = max(1.0, float(self.box[2] - self.box[0]))
        eyes = left_eye - right_eye
        span = float(np.linalg.norm(eyes))
        if span / width < MIN_EYE_SPAN or eyes[0] < abs(eyes[1]):
            return False
        normal = np.array([-eyes[1], eyes[0]]) / span
        drop = float(np.dot(nose - (left_eye + right_eye) / 2, normal)) / width
        return drop >= MIN_NOSE_DROP


def _anchors(size: int) -> np.ndarray:
    """BlazeFace SSD anchor centres (N, 2) in [0, 1] for a 128 (short range) or 192 (full range) input."""
    if size == 128:
        layout = [(8, 2), (16, 6)]  # stride, anchors per cell
    elif size == 192:
        layout = [(4, 1)]
    else:
        raise ModelError(f"unsupported face detector input size {size}")
    out = []
    for stride, per_cell in layout:
        grid = size // stride
        ys, xs = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
        centres = np.stack([(xs + 0.5) / grid, (ys + 0.5) / grid], axis=-1).reshape(-1, 2)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    order = np.argsort(-scores)
    keep: list[int] = []
    while len(order):
        i = order[0]
        keep.append(int(i))
        x0 = np.maximum(boxes[i, 0], boxes[order[1:], 0])
        y0 = np.maximum(boxes[i, 1], boxes[order[1:], 1])
        x1 = np.minimum(boxes[i, 2], boxes[order[1:], 2])
        y1 = np.minimum(boxes[i, 3], boxes[order[1:], 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        overlap = inter / (area[i] + area[order[1:]] - inter + 1e-9)
        order = order[1:][overlap < iou]
    return keep


class FaceDetector:
    """``detect(frame_bgr)`` -> list of Detection above ``threshold``, best first."""

    def __init__(self, path: Path, threshold: float = 0.5, num_threads: int = 1) -> None:
        self._interp = load_interpreter(path, num_threads)
        inp = self._interp.get_input_details()[0]
        outs = sorted(self._interp.get_output_details(), key=lambda d: -int(d["shape"][-1]))
        self.size = int(inp["shape"][1])
        self._anchors = _anchors(self.size)
        if int(outs[0]["shape"][1]) != len(self._anchors) or int(outs[0]["shape"][2]) != 16:
            raise ModelError(f"{path}: outputs {[tuple(o['shape']) for o in outs]} are not BlazeFace's")
        self._in, self._reg, self._cls = inp["index"], outs[0]["index"], outs[1]["index"]
        self.threshold = threshold

    def detect(self, frame_bgr: np.ndarray, tiles: bool = True) -> list[Detection]:
        """Faces in a BGR frame, best first, in frame pixels. When the whole frame shows none and
        ``tiles`` is set, four overlapping tiles (each TILE_SHARE of the width and height) are
        searched too, at 1.7x the scale. Faces under CONFIRM_BELOW_PX are confirmed in a close-up.
        Measured with the labelled faces shrunk into 640x480 (bench/sweep_face_crop.py): 98% found
        at 32 px, 49% at 24 px (the whole frame alone, with no close-up, found 73% at 32 px)."""
        found = self._detect_in(frame_bgr)
        if not found and tiles:
            h, w = frame_bgr.shape[:2]
            th, tw = int(h * TILE_SHARE), int(w * TILE_SHARE)
            for y in (0, h - th):
                for x in (0, w - tw):
                    found += self._detect_in(frame_bgr[y : y + th, x : x + tw], np.array([x, y], np.float32))
            if len(found) > 1:
                boxes = np.stack([d.box for d in found])
                found = [found[i] for i in _nms(boxes, np.array([d.score for d in found]), NMS_IOU)]
        confirmed = [self._confirm(frame_bgr, d) for d in found]
        return [d for d in confirmed if d is not None]

    def _confirm(self, frame_bgr: np.ndarray, det: Detection) -> Detection | None:
        """A face smaller than CONFIRM_BELOW_PX must be found again in a close-up (CONFIRM_ZOOM
        times its size, so it fills a quarter of the detector input); the close-up's detection,
        with its sharper box and keypoints, replaces it. Small face-like textures (cartoon
        letters in no_face.mp4) fail this second look; no real face in ../shared/data/faces
        shrunk to 24-40 px did."""
        if det.size >= CONFIRM_BELOW_PX:
            return det
        h, w = frame_bgr.shape[:2]
        (cx, cy), half = (det.box[:2] + det.box[2:]) / 2, det.size * CONFIRM_ZOOM / 2
        x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
        x1, y1 = int(min(w, cx + half)), int(min(h, cy + half))
        again = [d for d in self._detect_in(frame_bgr[y0:y1, x0:x1], np.array([x0, y0], np.float32))
                 if d.plausible() and d.box[0] <= cx <= d.box[2] and d.box[1] <= cy <= d.box[3]]
        return max(again, key=lambda d: d.score) if again else None

    def _detect_in(self, frame_bgr: np.ndarray, origin: np.ndarray | None = None) -> list[Detection]:
        h, w = frame_bgr.shape[:2]
        side = max(h, w)
        # letterbox to a square so the face keeps its shape
        square = np.zeros((side, side, 3), np.uint8)
        top, left = (side - h) // 2, (side - w) // 2
        square[top : top + h, left : left + w] = frame_bgr
        small = cv2.resize(square, (self.size, self.size), interpolation=cv2.INTER_AREA)
        x = cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1.0
        self._interp.set_tensor(self._in, x[None])
        self._interp.invoke()
        reg = self._interp.get_tensor(self._reg)[0]
        logits = np.clip(self._interp.get_tensor(self._cls)[0, :, 0], -80, 80)
        scores = 1 / (1 + np.exp(-logits))
        idx = np.nonzero(scores >= self.threshold)[0]
        if len(idx) == 0:
            return []
        reg, scores, anchors = reg[idx] / self.size, scores[idx], self._anchors[idx]
        cx, cy = reg[:, 0] + anchors[:, 0], reg[:, 1] + anchors[:, 1]
        boxes = np.stack([cx - reg[:, 2] / 2, cy - reg[:, 3] / 2, cx + reg[:, 2] / 2, cy + reg[:, 3] / 2], axis=1)
        kps = reg[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
        out = []
        offset = np.array([left, top], np.float32) - (origin if origin is not None else 0)
        for i in _nms(boxes, scores, NMS_IOU):
            box = boxes[i].reshape(2, 2) * side - offset
            out.append(Detection(box.reshape(4), float(scores[i]), kps[i] * side - offset))
        return out


def align_crop(gray: np.ndarray, det: Detection, scale: float = DEFAULT_CROP_SCALE,
               shift_y: float = DEFAULT_CROP_SHIFT_Y) -> np.ndarray:
    """The 48x48 grayscale face, eyes level: a square of ``scale`` x the box's longer side,
    its centre moved down by ``shift_y`` x that square."""
    right_eye, left_eye = det.keypoints[0], det.keypoints[1]
    dx, dy = left_eye - right_eye
    angle = float(np.degrees(np.arctan2(dy, dx)))
    x0, y0, x1, y1 = det.box
    side = max(x1 - x0, y1 - y0) * scale
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + shift_y * side
    scale = FACE_SIZE / side
    m = cv2.getRotationMatrix2D((float(cx), float(cy)), angle, scale)
    m[:, 2] = m[:, 2] + (FACE_SIZE / 2 - np.array([cx, cy]))
    return cv2.warpAffine(gray, m, (FACE_SIZE, FACE_SIZE), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def check_frame(frame: np.ndarray) -> None:
    """Raise ValueError unless ``frame`` is uint8 (H, W), (H, W, 3) BGR or (H, W, 4) BGRA, 8 px or more."""
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or (
            frame.ndim == 3 and frame.shape[2] not in (3, 4)) or min(frame.shape[:2]) < 8:
        raise ValueError(f"frame must be uint8 (H, W), (H, W, 3) BGR or (H, W, 4) BGRA of at least 8x8 pixels, "
                         f"got {frame.dtype} {frame.shape}")


def enhance_if_dark(gray: np.ndarray) -> np.ndarray:
    """Local contrast enhancement (CLAHE) for dim rooms; bright frames pass unchanged."""
    if float(gray.mean()) >= DARK_MEAN:
        return gray
    return cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(gray)


class FaceAnalyzer:
    """``analyze(frame_bgr, timestamp)`` -> one FaceObservation per face large enough to read
    (empty list: nobody seen). Frames are not kept. Thread-safe: a sampler that was cancelled
    may still be finishing a frame in its worker while its successor starts on the same analyzer,
    and a TFLite interpreter must not run twice at once."""

    def __init__(self, camera: CameraConfig, models: ModelsConfig, tuning: FaceTuning | None = None) -> None:
        """``tuning`` replaces the file ``models.face_tuning`` names (sweeps and tests)."""
        self.min_face_px = camera.min_face_px
        self.detector = FaceDetector(Path(models.face_detector), camera.detector_threshold, models.num_threads)
        self.expression = ExpressionModel(Path(models.face_expression), models.num_threads)
        if tuning is None:
            tuning = FaceTuning.load(Path(models.face_tuning)) if models.face_tuning else FaceTuning()
            if not tuning.chosen_for(Path(models.face_expression)):
                log.warning("%s was chosen for another expression model than %s; re-run "
                            "bench/sweep_face_path.py --write", models.face_tuning, models.face_expression)
        self.tuning = tuning
        self.landmarker = FaceLandmarker(Path(models.face_landmarks), models.num_threads) \
            if self.tuning.uses_geometry else None
        self._lock = threading.Lock()

    def crops(self, frame_bgr: np.ndarray) -> list[tuple[Detection, np.ndarray]]:
        """Detections large enough to read, with their 48x48 crops. The frame is uint8 BGR
        (H, W, 3), BGRA (H, W, 4) or grayscale (H, W), at least 8x8 pixels; anything else raises
        ValueError."""
        with self._lock:
            return self._read(frame_bgr, True)[1]

    def _read(self, frame_bgr: np.ndarray, tiles: bool) -> tuple[np.ndarray, list[tuple[Detection, np.ndarray]]]:
        """The frame as BGR (dark frames enhanced, as the detector saw it) and ``crops``."""
        check_frame(frame_bgr)
        if frame_bgr.ndim == 3 and frame_bgr.shape[2] == 4:
            frame_bgr = cv2.cvtColor(frame_bgr, cv2.COLOR_BGRA2BGR)
        gray = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY) if frame_bgr.ndim == 3 else frame_bgr
        if frame_bgr.ndim == 2:
            frame_bgr = cv2.cvtColor(frame_bgr, cv2.COLOR_GRAY2BGR)
        if float(gray.mean()) < DARK_MEAN:
            gray = enhance_if_dark(gray)
            frame_bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        crop = self.tuning.crop_scale, self.tuning.crop_shift_y
        return frame_bgr, [(d, align_crop(gray, d, *crop)) for d in self.detector.detect(frame_bgr, tiles)
                           if d.size >= self.min_face_px and d.plausible()]

    def analyze(self, frame_bgr: np.ndarray, timestamp: float) -> list[FaceObservation]:
        """One FaceObservation per readable face (in detection order); [] when there is
        none. ``frame_bgr`` as for ``crops``; ``timestamp`` (monotonic seconds) is copied into
        each observation. confidence = detector score x a size factor (0.4 at ``min_face_px``,
        1 from twice that). The frame is neither kept nor written."""
        return [obs for _, obs in self.read(frame_bgr, timestamp)]

    def read(self, frame_bgr: np.ndarray, timestamp: float,
             tiles: bool = True) -> list[tuple[Detection, FaceObservation]]:
        """``analyze``'s observations, each with the detection it came from; ``tiles=False``
        searches the whole frame only (no tiles when it shows nobody)."""
        with self._lock:
            frame_bgr, found = self._read(frame_bgr, tiles)
            if not found:
                return []
            probs = self.expression.predict(np.stack([prepare_face(c) for _, c in found]))
            features = None
            if self.landmarker is not None:
                features = np.stack([geometry_features(self.landmarker.mesh(
                    frame_bgr, d.box, d.keypoints[0], d.keypoints[1]).points) for d, _ in found])
        probs = self.tuning.apply(probs, features)
        out = []
        for (det, _), p in zip(found, probs, strict=True):
            # a face twice the minimum size or more is fully trusted; smaller ones less
            size_factor = min(1.0, 0.4 + 0.6 * (det.size - self.min_face_px) / max(1, self.min_face_px))
            out.append((det, FaceObservation(p, float(det.score * size_factor), det.size, timestamp)))
        return out
