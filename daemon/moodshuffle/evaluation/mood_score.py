"""Scoring a mood timeline against annotated segments (pure logic, no I/O but the CSV reader).

What "matching" means, per segment emotion:

* neutral: the label is neutral and the valence within +-``VALENCE_SHOWN`` (the mood shows no
  departure from rest);
* a class with negative valence (angry, disgust, fear, sad): the label is any negative-valence
  class, or the valence is below ``-VALENCE_SHOWN`` (the issue's "shows sadness": a sad face
  the model reads partly as fear, or a mood whose label stays neutral while its valence has
  clearly dropped, both count);
* a class with positive valence (happy, surprise): the label is any positive-valence class, or
  the valence is above ``+VALENCE_SHOWN``.

Each segment also reports ``label_delay_s``: the delay to the first state whose label is the
segment's own class (the stricter "the mood turned happy").
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from moodshuffle.domain.emotions import CLASS_VA, EMOTIONS, INDEX

#: valence beyond which a mood counts as visibly positive or negative
VALENCE_SHOWN = 0.1


@dataclass(frozen=True)
class Segment:
    """An annotated stretch of video: ``emotion`` (a class of EMOTIONS) from ``start_s`` to ``end_s``."""

    start_s: float
    end_s: float
    emotion: str


@dataclass(frozen=True)
class TimelinePoint:
    """The reported mood at ``t`` seconds of video time."""

    t: float
    label: str
    valence: float
    arousal: float
    confidence: float
    faces: int


def read_segments(path: Path) -> list[Segment]:
    """A CSV with a header ``start_s,end_s,emotion``; raises ValueError naming the file and line."""
    segments = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = {"start_s", "end_s", "emotion"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))} (need start_s,end_s,emotion)")
        for line, row in enumerate(reader, start=2):
            emotion = (row["emotion"] or "").strip().lower()
            try:
                start, end = float(row["start_s"]), float(row["end_s"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}:{line}: start_s and end_s must be numbers, got {row}") from None
            if emotion not in INDEX:
                raise ValueError(f"{path}:{line}: emotion must be one of {', '.join(EMOTIONS)}, got {emotion!r}")
            if end <= start:
                raise ValueError(f"{path}:{line}: end_s must be after start_s, got {start:g}..{end:g}")
            segments.append(Segment(start, end, emotion))
    return segments


def _sign(name: str) -> int:
    v = float(CLASS_VA[INDEX[name], 0])
    return 0 if v == 0 else (1 if v > 0 else -1)


def matches(emotion: str, point: TimelinePoint) -> bool:
    """Does the mood at ``point`` show ``emotion``? (the rules in the module docstring)"""
    sign = _sign(emotion)
    if sign == 0:
        return point.label == "neutral" and abs(point.valence) <= VALENCE_SHOWN
    return _sign(point.label) == sign or sign * point.valence > VALENCE_SHOWN


def label_changes(timeline: list[TimelinePoint]) -> list[dict[str, float | str]]:
    """Every change of label: ``{"t", "from", "to"}``."""
    return [{"t": round(b.t, 2), "from": a.label, "to": b.label}
            for a, b in zip(timeline, timeline[1:], strict=False) if a.label != b.label]


def score_segments(timeline: list[TimelinePoint], segments: list[Segment]) -> dict[str, object]:
    """Per segment: the delay from its start to the first matching state (None: never), to the
    first state with its own label, and the share of its states that match; overall: the share
    of all states inside segments that match."""
    out, hits, total = [], 0, 0
    for seg in segments:
        inside = [p for p in timeline if seg.start_s <= p.t < seg.end_s]
        ok = [matches(seg.emotion, p) for p in inside]
        first = next((p.t for p, m in zip(inside, ok, strict=True) if m), None)
        first_label = next((p.t for p in inside if p.label == seg.emotion), None)
        out.append({
            "start_s": seg.start_s, "end_s": seg.end_s, "emotion": seg.emotion, "samples": len(inside),
            "delay_s": None if first is None else round(first - seg.start_s, 2),
            "label_delay_s": None if first_label is None else round(first_label - seg.start_s, 2),
            "match_share": round(sum(ok) / len(ok), 3) if ok else None,
        })
        hits += sum(ok)
        total += len(ok)
    return {"segments": out, "match_share": round(hits / total, 3) if total else None}
