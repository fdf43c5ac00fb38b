"""``moodshuffle eval mood VIDEO [--segments CSV]``: the camera path and the mood estimator over
a video file in simulated time, as fast as the CPU allows.

One frame is analysed every ``camera.interval_s`` of video time (the newest frame at that
moment, as the daemon's camera sampler would take it), through the daemon's own FaceAnalyzer
and a MoodEstimator with the configured ``mood`` settings; the estimator is updated at each
sample's video time. Matching rules for the segments are in ``mood_score``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from moodshuffle.config import Config
from moodshuffle.domain.mood import MoodState
from moodshuffle.domain.observations import FaceObservation, NobodySeen
from moodshuffle.estimate.mood import MoodEstimator
from moodshuffle.estimate.naming import load_naming
from moodshuffle.evaluation.mood_score import TimelinePoint, label_changes, read_segments, score_segments
from moodshuffle.perceive.faces import FaceAnalyzer


def sample_video(path: Path, interval_s: float) -> Iterator[tuple[float, np.ndarray]]:
    """(video time, BGR frame) every ``interval_s`` seconds of video time, from 0: the last
    frame shown at that time. Raises FileNotFoundError / ValueError for a missing or unreadable file."""
    if not path.is_file():
        raise FileNotFoundError(f"video not found: {path}")
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    if not cap.isOpened() or not 1 <= fps <= 1000:
        cap.release()
        raise ValueError(f"{path}: not a readable video (frame rate {fps!r})")
    try:
        index, k = 0, 0
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            # frame `index` is on screen from index/fps until (index+1)/fps
            while k * interval_s < (index + 1) / fps:
                if k * interval_s >= index / fps:
                    yield k * interval_s, frame
                k += 1
            index += 1
    finally:
        cap.release()


def fold_observed(observed: Iterable[tuple[float, Sequence[FaceObservation]]],
                  estimator: MoodEstimator) -> list[TimelinePoint]:
    """Cached camera observations (time, faces found) through ``estimator`` as ``replay`` does:
    the faces (or NobodySeen), then ``update(time)``; the timeline of the states."""
    out = []
    for t, faces in observed:
        for obs in faces:
            estimator.observe(obs)
        if not faces:
            estimator.observe(NobodySeen(t))
        s = estimator.update(t)
        out.append(TimelinePoint(t, s.label, s.valence, s.arousal, s.confidence, s.faces))
    return out


def replay(frames: Iterable[tuple[float, np.ndarray]], analyzer: FaceAnalyzer,
           estimator: MoodEstimator) -> Iterator[tuple[float, MoodState, float]]:
    """Each (time, frame) through the camera path and the estimator, as the daemon does it:
    the faces found (or NobodySeen), then ``update(time)``. Yields (time, state, seconds the
    camera path took)."""
    for t, frame in frames:
        started = time.perf_counter()
        faces = analyzer.analyze(frame, t)
        spent = time.perf_counter() - started
        for obs in faces:
            estimator.observe(obs)
        if not faces:
            estimator.observe(NobodySeen(t))
        yield t, estimator.update(t), spent


def point(state: MoodState, t: float) -> TimelinePoint:
    return TimelinePoint(t, state.label, state.valence, state.arousal, state.confidence, state.faces)


def main(video: Path, cfg: Config, segments_csv: Path | None = None) -> dict[str, Any]:
    """Prints one line per sample (time, label, valence, arousal, confidence, faces), then as
    the last line one JSON object: video, interval_s, samples, ms_per_frame (camera path,
    median), changes (every label change) and, with ``segments_csv``, per segment the delay to
    the first matching mood and to its own label and the share of matching samples, plus the
    overall match_share."""
    segments = read_segments(segments_csv) if segments_csv is not None else None
    analyzer = FaceAnalyzer(cfg.camera, cfg.models)
    estimator = MoodEstimator(cfg.mood, load_naming(cfg.models))
    timeline: list[TimelinePoint] = []
    spent: list[float] = []
    print("    time  label      valence  arousal  confidence  faces")
    for t, state, seconds in replay(sample_video(video, cfg.camera.interval_s), analyzer, estimator):
        p = point(state, t)
        timeline.append(p)
        spent.append(seconds)
        print(f"{p.t:7.1f}s  {p.label:9s}  {p.valence:+.3f}   {p.arousal:+.3f}   {p.confidence:.3f}       {p.faces}")
    result: dict[str, Any] = {
        "video": video.name,
        "interval_s": cfg.camera.interval_s,
        "samples": len(timeline),
        "ms_per_frame": round(1000 * float(np.median(spent)), 2) if spent else None,
        "changes": label_changes(timeline),
    }
    if segments is not None:
        result.update(score_segments(timeline, segments))
    print(json.dumps(result))
    return result

