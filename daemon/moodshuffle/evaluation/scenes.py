"""Scenes for the mood estimator built from real photos and video frames: a person at rest,
then sad, then laughing, as a camera would see it over minutes.

A scene is a list of parts; each part shows its frames for a number of seconds. Photos are
held ``hold_s`` each, in turn, every hold with its own small change of pose and light (a
person sitting still moves a little), and every frame with its own sensor noise, so no two
samples are the same image. Used by the tests (frames in memory) and by
``bench/sweep_mood.py`` (written as videos for ``moodshuffle eval mood``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from moodshuffle.evaluation.mood_score import Segment

#: frame size of the scenes, a common camera resolution
SIZE = (640, 480)


@dataclass(frozen=True)
class Part:
    """``frames`` (BGR images) shown for ``seconds``: photos held ``hold_s`` each in turn, or,
    with ``clip_fps``, video frames played at that rate, back and forth when the part is longer.
    ``emotion``: the annotation of this stretch (None: not annotated)."""

    frames: tuple[np.ndarray, ...]
    seconds: float
    emotion: str | None
    hold_s: float = 2.0
    clip_fps: float | None = None


def load(paths: list[Path]) -> tuple[np.ndarray, ...]:
    """Images as BGR frames; raises FileNotFoundError naming an unreadable one."""
    out = []
    for p in paths:
        img = cv2.imread(str(p))
        if img is None:
            raise FileNotFoundError(f"cannot read image {p}")
        out.append(img)
    return tuple(out)


def video_frames(path: Path, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, ...]:
    """Frames ``start``..``stop`` of a video file."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        raise FileNotFoundError(f"cannot read video {path}")
    return tuple(frames[start:stop])


def _canvas(img: np.ndarray) -> np.ndarray:
    """The image scaled to fit SIZE, centred on a mid-grey background."""
    w, h = SIZE
    scale = min(w / img.shape[1], h / img.shape[0])
    small = cv2.resize(img, (int(img.shape[1] * scale), int(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    out = np.full((h, w, 3), 110, np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y : y + small.shape[0], x : x + small.shape[1]] = small
    return out


def _pose(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A small change of head position, distance and light (one per hold)."""
    h, w = img.shape[:2]
    m = np.asarray(cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-4, 4), rng.uniform(0.93, 1.07)), np.float64)
    m[:, 2] += rng.uniform(-0.04, 0.04, 2) * np.array([w, h], np.float64)
    moved = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    return cv2.convertScaleAbs(moved, alpha=rng.uniform(0.85, 1.15), beta=rng.uniform(-10, 10))


def _noise(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


def frames(parts: list[Part], fps: float, seed: int = 0) -> Iterator[tuple[float, np.ndarray]]:
    """(time, 640x480 BGR frame) at ``fps`` through all parts."""
    rng = np.random.default_rng(seed)
    t0 = 0.0
    n = 0
    for part in parts:
        canvases = [_canvas(f) for f in part.frames]
        posed: tuple[int, np.ndarray] | None = None
        while n / fps < t0 + part.seconds - 1e-9:
            t = n / fps - t0
            if part.clip_fps is not None:
                period = 2 * len(canvases) - 2 if len(canvases) > 1 else 1
                i = int(t * part.clip_fps) % period
                yield n / fps, _noise(canvases[i if i < len(canvases) else period - i], rng)
            else:
                hold = int(t // part.hold_s)
                if posed is None or posed[0] != hold:
                    posed = (hold, _pose(canvases[hold % len(canvases)], rng))
                yield n / fps, _noise(posed[1], rng)
            n += 1
        t0 += part.seconds


def segments(parts: list[Part]) -> list[Segment]:
    """The annotated stretches of a scene."""
    out, t0 = [], 0.0
    for part in parts:
        if part.emotion is not None:
            out.append(Segment(t0, t0 + part.seconds, part.emotion))
        t0 += part.seconds
    return out


def write(parts: list[Part], video: Path, fps: float = 10.0, seed: int = 0) -> Path:
    """The scene as an mp4 video, and its segments as ``<video>.csv`` (start_s,end_s,emotion)."""
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), fps, SIZE)
    if not writer.isOpened():
        raise OSError(f"cannot write video {video}")
    for _, frame in frames(parts, fps, seed):
        writer.write(frame)
    writer.release()
    csv = video.with_suffix(".csv")
    csv.write_text("start_s,end_s,emotion\n" + "".join(
        f"{s.start_s:g},{s.end_s:g},{s.emotion}\n" for s in segments(parts)))
    return csv


def side_by_side(*people: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Several people in one frame: the i-th frames of each, scaled to one height, side by
    side (as many frames as the longest list; shorter lists repeat)."""
    n = max(len(p) for p in people)
    out = []
    for i in range(n):
        imgs = [p[i % len(p)] for p in people]
        h = min(img.shape[0] for img in imgs)
        out.append(np.hstack([cv2.resize(img, (int(img.shape[1] * h / img.shape[0]), h)) for img in imgs]))
    return tuple(out)
