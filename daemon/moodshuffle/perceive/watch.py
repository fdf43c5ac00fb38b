"""The cheap look at a room that has been empty, and the analyser that chooses it per sample.

``RoomWatch.analyze`` is what the sampler calls (``sense.sampler.FrameAnalyzer``): it asks
``perceive.room.plan`` which look this sample gets. The cheap looks cost a small grey downscale
(SMALL_WIDTH pixels wide) compared with the last REFERENCE_FRAMES samples' and, on a DETECT
look, one whole-frame detector pass; when they see anything (``room.escalate``) the same frame
gets ``FaceAnalyzer``'s full search. Measured figures: docs/measurements.md ("The camera in an
empty room").
"""

from __future__ import annotations

import threading
from collections import deque

import cv2
import numpy as np

from moodshuffle.domain.observations import FaceObservation
from moodshuffle.perceive.faces import DARK_MEAN, Detection, FaceAnalyzer, check_frame
from moodshuffle.perceive.room import Box, Glance, Look, RoomHistory, after, escalate, plan

#: width of the grey image motion is measured on (80 x 60 for a 4:3 frame: 8x8 pixels averaged,
#: which also averages the sensor's noise away)
SMALL_WIDTH = 80
#: the last samples' small images a new one is compared with
REFERENCE_FRAMES = 3
#: a small pixel changed when it differs by more than this (0..255 grey levels) in a room as
#: bright as DARK_MEAN or brighter, and by more than DIM_CHANGE_LEVEL in the darkest
CHANGE_LEVEL = 18
DIM_CHANGE_LEVEL = 4
#: the last faces' places are searched for motion this much wider than their boxes, each side
PLACE_MARGIN = 0.5


def small_grey(frame: np.ndarray) -> np.ndarray:
    """The frame (uint8 grey, BGR or BGRA) as a grey image SMALL_WIDTH wide, its aspect kept."""
    h, w = frame.shape[:2]
    size = (SMALL_WIDTH, max(1, round(SMALL_WIDTH * h / w)))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    if small.ndim == 3:
        small = cv2.cvtColor(small, cv2.COLOR_BGRA2GRAY if small.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    return small


def place_mask(shape: tuple[int, ...], places: tuple[Box, ...]) -> np.ndarray | None:
    """A boolean mask of ``shape`` over ``places`` (fractions of the frame), each widened by
    PLACE_MARGIN of its size on every side; None with no places."""
    if not places:
        return None
    mask = np.zeros(shape[:2], bool)
    h, w = shape[:2]
    for x0, y0, x1, y1 in places:
        mx, my = (x1 - x0) * PLACE_MARGIN, (y1 - y0) * PLACE_MARGIN
        mask[max(0, int((y0 - my) * h)) : int(np.ceil((y1 + my) * h)),
             max(0, int((x0 - mx) * w)) : int(np.ceil((x1 + mx) * w))] = True
    return mask


def glance_motion(small: np.ndarray, references: list[np.ndarray], places: tuple[Box, ...]) -> Glance:
    """Motion of ``small`` against each of ``references`` (the largest share changed counts),
    overall and inside ``places``; a pixel changed when it differs by more than the change level
    (CHANGE_LEVEL, less in a dim room) beyond the median difference. No reference of the same
    size: everything changed."""
    same = [r for r in references if r.shape == small.shape]
    if not same:
        return Glance(1.0, 1.0)
    mask = place_mask(small.shape, places)
    # a dim room's changes are a few grey levels (the full search brightens it, CLAHE): the level
    # falls with the brightness, down to DIM_CHANGE_LEVEL
    level = max(DIM_CHANGE_LEVEL, CHANGE_LEVEL * min(1.0, float(small.mean()) / DARK_MEAN))
    motion = place_motion = 0.0
    for ref in same:
        diff = small.astype(np.int16) - ref
        # less the typical difference: a change of exposure or light over the whole room is no motion
        changed = np.abs(diff - np.median(diff)) > level
        motion = max(motion, float(changed.mean()))
        if mask is not None and mask.any():
            place_motion = max(place_motion, float(changed[mask].mean()))
    return Glance(motion, place_motion)


def _box(det: Detection, frame: np.ndarray) -> Box:
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in det.box)
    return (x0 / w, y0 / h, x1 / w, y1 / h)


class RoomWatch:
    """``analyze(frame, timestamp)``: FaceAnalyzer's observations, with the full search run only
    when the room's history or a cheap look asks for it (``perceive.room``). ``last_look`` is
    the look the last sample finally got (FULL when a cheap look escalated). Thread-safe as
    FaceAnalyzer is. Keeps only REFERENCE_FRAMES small grey images, never a frame."""

    def __init__(self, analyzer: FaceAnalyzer) -> None:
        self.analyzer = analyzer
        self.history = RoomHistory()
        self.last_look = Look.FULL
        self._recent: deque[np.ndarray] = deque(maxlen=REFERENCE_FRAMES)
        self._lock = threading.Lock()

    def analyze(self, frame_bgr: np.ndarray, timestamp: float) -> list[FaceObservation]:
        """As ``FaceAnalyzer.analyze``; a malformed frame raises ValueError."""
        check_frame(frame_bgr)
        with self._lock:
            small = small_grey(frame_bgr)
            look = plan(self.history)
            found: list[tuple[Detection, FaceObservation]] = []
            if look is not Look.FULL:
                glance = glance_motion(small, list(self._recent), self.history.last_faces)
                if look is Look.DETECT and not escalate(glance):
                    # the whole-frame pass is the full search's first step: faces it finds are
                    # the full search's result
                    found = self.analyzer.read(frame_bgr, timestamp, tiles=False)
                    glance = Glance(glance.motion, glance.place_motion, len(found))
                if escalate(glance):
                    look = Look.FULL
            if look is Look.FULL and not found:
                found = self.analyzer.read(frame_bgr, timestamp)
            self._recent.append(small)
            self.history = after(self.history, look, tuple(_box(d, frame_bgr) for d, _ in found))
            self.last_look = look
            return [obs for _, obs in found]
