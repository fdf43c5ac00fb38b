"""An empty room, then a person walking in, from real images, for the cheap look's tests and
benches (``bench/room_entering.py``, ``bench/room_cost.py``, ``bench/bench_camera.py``).

The room is one real frame of ``faces/media/no_face.mp4`` (a furnished scene, no face) scaled
to 640x480 and held still, as a fixed camera sees a room: every sample has its own sensor noise
and a small flicker of exposure, so no two samples are the same image. A person is a real
photo from ``faces/`` scaled so its face is a given width and pasted into the room.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from moodshuffle.domain.observations import FaceObservation

#: frame size, a common camera resolution
SIZE = (640, 480)
#: the frame of no_face.mp4 used as the room
ROOM_FRAME = 50
#: sensor noise (grey levels, standard deviation) and exposure flicker (grey levels, at most)
NOISE = 3.0
FLICKER = 3.0


def room_background(faces_dir: Path) -> np.ndarray:
    """The still room: frame ROOM_FRAME of no_face.mp4 as 640x480 BGR."""
    cap = cv2.VideoCapture(str(faces_dir / "media" / "no_face.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, ROOM_FRAME)
    ok, frame = cap.read()
    cap.release()
    if not ok:
        raise FileNotFoundError(f"cannot read frame {ROOM_FRAME} of {faces_dir / 'media' / 'no_face.mp4'}")
    return cv2.resize(frame, SIZE, interpolation=cv2.INTER_AREA)


def sample(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One camera sample of ``scene``: its own noise and exposure flicker."""
    flicker = rng.uniform(-FLICKER, FLICKER)
    return np.clip(scene + rng.normal(flicker, NOISE, scene.shape), 0, 255).astype(np.uint8)


def with_person(room: np.ndarray, photo: np.ndarray, photo_face_px: int, face_px: int,
                at: tuple[float, float]) -> np.ndarray:
    """``room`` with ``photo`` (whose face is ``photo_face_px`` wide) scaled so the face is
    ``face_px`` wide and pasted with its centre at ``at`` (fractions of the room's width and
    height), cut at the room's edges."""
    scale = face_px / photo_face_px
    person = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if person.ndim == 2:
        person = cv2.cvtColor(person, cv2.COLOR_GRAY2BGR)
    h, w = room.shape[:2]
    ph, pw = person.shape[:2]
    x0, y0 = int(at[0] * w - pw / 2), int(at[1] * h - ph / 2)
    out = room.copy()
    rx0, ry0, rx1, ry1 = max(0, x0), max(0, y0), min(w, x0 + pw), min(h, y0 + ph)
    out[ry0:ry1, rx0:rx1] = person[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0]
    return out


def entering(room: np.ndarray, person_scene: np.ndarray, empty_samples: int,
             rng: np.random.Generator) -> Iterator[tuple[bool, np.ndarray]]:
    """(person in the frame?, sample): ``empty_samples`` samples of the empty room, then the
    person's scene for ever."""
    for _ in range(empty_samples):
        yield False, sample(room, rng)
    while True:
        yield True, sample(person_scene, rng)


def samples_until_found(analyze: Callable[[np.ndarray, float], list[FaceObservation]], room: np.ndarray,
                        person_scene: np.ndarray, empty_samples: int, rng: np.random.Generator,
                        give_up: int = 10) -> int:
    """How many samples with the person in the frame ``analyze(frame, t)`` (a RoomWatch's or a
    FaceAnalyzer's) needs to find a face: 1 is the first sample they are in; ``give_up`` + 1
    when none found. Raises AssertionError if a face is found in the empty room."""
    seen = 0
    for t, (present, frame) in enumerate(entering(room, person_scene, empty_samples, rng)):
        found = analyze(frame, float(t))
        assert present or not found, f"a face found in the empty room at sample {t}"
        if present:
            seen += 1
            if found:
                return seen
            if seen > give_up:
                return give_up + 1
    raise AssertionError("unreachable")
