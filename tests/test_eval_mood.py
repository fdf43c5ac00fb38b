"""``moodshuffle eval mood VIDEO --segments CSV``: the real camera path and estimator over the
reference video in simulated time; the timeline, the JSON contract, the scoring rules, ``-c``
honoured, and bad input named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from moodshuffle.evaluation.mood_score import (
    Segment,
    TimelinePoint,
    label_changes,
    matches,
    read_segments,
    score_segments,
)

pytestmark = pytest.mark.real

SEGMENTS = Path(__file__).parent / "data" / "WolfgangLanger_Pexels.segments.csv"


def eval_mood(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "moodshuffle", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def video(shared_data) -> Path:
    return shared_data / "faces" / "media" / "WolfgangLanger_Pexels.mp4"


def test_eval_mood_follows_the_reference_video_from_crying_to_laughing(video):
    proc = eval_mood("eval", "mood", str(video), "--segments", str(SEGMENTS))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    timeline = [line.split() for line in lines[1:-1]]
    assert result["interval_s"] == 2.0 and result["samples"] == len(timeline) == 10  # 19.7 s of video
    assert [float(row[0].rstrip("s")) for row in timeline] == [2.0 * i for i in range(10)]
    sad, happy = result["segments"]
    assert sad["emotion"] == "sad" and sad["delay_s"] is not None and sad["match_share"] >= 0.8
    assert happy["label_delay_s"] is not None and happy["label_delay_s"] <= 15
    assert result["changes"][-1]["to"] == "happy"
    assert all(float(row[2]) < -0.1 for row in timeline[1:5])  # the crying, as valence


def test_eval_mood_honours_the_config(video, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"camera": {"interval_s": 0.5}}))
    proc = eval_mood("-c", str(cfg), "eval", "mood", str(video))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["interval_s"] == 0.5 and result["samples"] == 40
    assert "segments" not in result


def test_eval_mood_names_a_bad_segments_file_and_a_missing_video(video, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("start_s,end_s,emotion\n0,5,sad\n5,3,happy\n")
    proc = eval_mood("eval", "mood", str(video), "--segments", str(bad))
    assert proc.returncode == 1 and f"{bad}:3: end_s must be after start_s" in proc.stderr
    proc = eval_mood("eval", "mood", str(tmp_path / "none.mp4"))
    assert proc.returncode == 1 and "video not found" in proc.stderr


def point(t: float, label: str, valence: float) -> TimelinePoint:
    return TimelinePoint(t, label, valence, 0.0, 0.5, 1)


def test_matching_rules_for_neutral_sad_and_happy_segments():
    assert matches("sad", point(0, "neutral", -0.2))  # a drop in valence shows sadness
    assert matches("sad", point(0, "fear", 0.0))  # so does any negative-valence label
    assert not matches("sad", point(0, "neutral", -0.05))
    assert matches("happy", point(0, "surprise", 0.0)) and matches("happy", point(0, "neutral", 0.3))
    assert not matches("happy", point(0, "sad", 0.05))
    assert matches("neutral", point(0, "neutral", 0.05))
    assert not matches("neutral", point(0, "neutral", -0.3)) and not matches("neutral", point(0, "happy", 0.0))


def test_segment_scores_count_delays_from_the_segment_start():
    timeline = [point(0, "neutral", 0), point(2, "neutral", -0.2), point(4, "sad", -0.4), point(6, "sad", -0.4),
                point(8, "happy", 0.5)]
    scored = score_segments(timeline, [Segment(1, 7, "sad"), Segment(7, 9, "happy"), Segment(9, 20, "angry")])
    sad, happy, angry = scored["segments"]
    assert (sad["delay_s"], sad["label_delay_s"], sad["match_share"], sad["samples"]) == (1, 3, 1.0, 3)
    assert happy["delay_s"] == 1 and happy["match_share"] == 1.0
    assert angry["delay_s"] is None and angry["match_share"] is None
    assert scored["match_share"] == 1.0
    assert label_changes(timeline) == [{"t": 4, "from": "neutral", "to": "sad"},
                                       {"t": 8, "from": "sad", "to": "happy"}]


def test_read_segments_names_the_file_and_line(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("start_s,end_s,emotion\n0,5,Sad\n5,9,bored\n")
    with pytest.raises(ValueError, match=r"s\.csv:3: emotion must be one of"):
        read_segments(path)
    path.write_text("start,end,emotion\n")
    with pytest.raises(ValueError, match="missing column"):
        read_segments(path)
    path.write_text("start_s,end_s,emotion\n0,5,Sad\n")
    assert read_segments(path) == [Segment(0.0, 5.0, "sad")]
