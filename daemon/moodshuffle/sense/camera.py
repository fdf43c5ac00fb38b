"""Camera sources behind one small interface: OpenCV (V4L2/USB), Picamera2 (CSI) and video
files or streams. Each returns the newest frame on ``read`` (BGR, rotated as configured)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from moodshuffle.config import CameraConfig

log = logging.getLogger("moodshuffle.camera")

_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


class CameraUnavailable(RuntimeError):
    """The camera cannot be opened or stopped delivering frames."""


class FrameSource(Protocol):
    """A camera, stream or video file. ``open`` raises CameraUnavailable when the device is
    missing or busy; ``read`` returns the newest frame (BGR uint8 (H, W, 3), rotated by
    ``camera.rotation``) or raises CameraUnavailable when the source stopped delivering;
    ``close`` releases the device and may be called at any time, twice included."""

    def open(self) -> None: ...
    def read(self) -> np.ndarray: ...
    def close(self) -> None: ...
    @property
    def is_open(self) -> bool: ...


def _rotate(frame: np.ndarray, rotation: int) -> np.ndarray:
    return cv2.rotate(frame, _ROTATE[rotation]) if rotation else frame


#: most frames skipped in one read (a network stream's buffer may hold many seconds)
MAX_DRAIN = 120


def drain_to_newest(grab: Callable[[], bool], frame_period_s: float, max_grabs: int = MAX_DRAIN) -> bool:
    """Grab until a grab has to wait for the device: the frame it then holds was captured after
    the call began, not one the driver or stream buffered while we slept. A buffered frame comes
    back at once, a live one after up to a frame period, so a grab that takes more than half a
    period ends the drain. Returns False when the source stopped delivering. A V4L2 camera with
    a one-frame buffer costs two grabs (V4L2 grabs do not decode); a stream as many as it buffered."""
    for _ in range(max_grabs):
        started = time.monotonic()
        if not grab():
            return False
        if time.monotonic() - started > frame_period_s / 2:
            return True
    return True


class _CaptureSource:
    """What the two OpenCV-backed sources share: one ``cv2.VideoCapture``, released on close."""

    _cap: cv2.VideoCapture | None = None

    @property
    def is_open(self) -> bool:
        return self._cap is not None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class OpenCVCamera(_CaptureSource):
    """A V4L2/USB camera (index or /dev/videoN) or a network stream (URL) through OpenCV.
    Kept open between samples; buffered frames are drained so the newest one is analysed."""

    def __init__(self, cfg: CameraConfig) -> None:
        self.cfg = cfg
        src = cfg.source
        self.target: int | str = int(src) if src.isdigit() else src
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            raise CameraUnavailable(f"cannot open camera {self.cfg.source!r}")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.cfg.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.cfg.height)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap

    def read(self) -> np.ndarray:
        if self._cap is None:
            raise CameraUnavailable("camera not open")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        period = 1.0 / fps if 1 <= fps <= 240 else 1 / 30
        if not drain_to_newest(self._cap.grab, period):
            raise CameraUnavailable(f"camera {self.cfg.source!r} stopped delivering frames")
        ok, frame = self._cap.retrieve()
        if not ok or frame is None:
            raise CameraUnavailable(f"camera {self.cfg.source!r} gave no frame")
        return _rotate(frame, self.cfg.rotation)



class VideoFileSource(_CaptureSource):
    """A video file for tests and demos: ``realtime`` plays it at its own frame rate (the frame
    at the wall-clock position), otherwise each read steps one frame. ``loop`` restarts it."""

    def __init__(self, cfg: CameraConfig) -> None:
        self.cfg = cfg
        self.path = Path(cfg.source).expanduser()
        self._cap: cv2.VideoCapture | None = None
        self._started = 0.0
        self._fps = 25.0
        self._pos = 0
        #: the latest frame read from this file (a looped one-frame video shows it again)
        self._last: np.ndarray | None = None

    def open(self) -> None:
        if not self.path.is_file():
            raise CameraUnavailable(f"video file {self.path} not found")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise CameraUnavailable(f"cannot open video {self.path}")
        self._cap = cap
        self._fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        self._started = time.monotonic()
        self._pos = 0

    def read(self) -> np.ndarray:
        if self._cap is None:
            raise CameraUnavailable("video not open")
        if self.cfg.realtime:
            target = int((time.monotonic() - self._started) * self._fps)
            while self._pos < target:  # skip (grab without decoding) to the wall-clock position
                if not self._cap.grab():
                    break
                self._pos += 1
        ok, frame = self._cap.read()
        self._pos += 1
        if not ok or frame is None:
            if not self.cfg.loop:
                raise CameraUnavailable(f"video {self.path} ended")
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._started, self._pos = time.monotonic(), 0
            ok, frame = self._cap.read()
            if not ok and self._last is not None:
                # a one-frame video cannot be read again after a seek (OpenCV's decoder has drained):
                # it is a still picture, not a camera that fails every other sample
                frame = self._last
            elif not ok:
                raise CameraUnavailable(f"video {self.path} cannot be read")
            self._pos = 1
        self._last = frame
        return _rotate(frame, self.cfg.rotation)



class Picamera2Source:
    """A CSI camera through Picamera2 (Raspberry Pi OS: ``sudo apt install python3-picamera2``,
    and a venv made with ``--system-site-packages``; imported only when configured)."""

    def __init__(self, cfg: CameraConfig) -> None:
        self.cfg = cfg
        self._cam = None

    def open(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise CameraUnavailable("picamera2 is not installed (apt install python3-picamera2)") from exc
        try:
            cam = Picamera2()
            cam.configure(cam.create_video_configuration(main={"size": (self.cfg.width, self.cfg.height),
                                                                "format": "RGB888"}, buffer_count=2))
            cam.start()
        except Exception as exc:  # libcamera raises RuntimeError/IndexError when no camera is attached
            raise CameraUnavailable(f"Picamera2: {exc}") from exc
        self._cam = cam

    def read(self) -> np.ndarray:
        if self._cam is None:
            raise CameraUnavailable("camera not open")
        try:
            frame = self._cam.capture_array("main")  # RGB888 is stored B, G, R: OpenCV order
        except Exception as exc:
            raise CameraUnavailable(f"Picamera2: {exc}") from exc
        return _rotate(frame[:, :, :3], self.cfg.rotation)

    @property
    def is_open(self) -> bool:
        return self._cam is not None

    def close(self) -> None:
        if self._cam is not None:
            self._cam.stop()
            self._cam.close()
            self._cam = None


def open_source(cfg: CameraConfig) -> FrameSource:
    """The source ``camera.source`` names (not yet opened)."""
    src = cfg.source
    if src == "picamera2":
        return Picamera2Source(cfg)
    if src.isdigit() or src.startswith("/dev/") or "://" in src:
        return OpenCVCamera(cfg)
    return VideoFileSource(cfg)
