"""``moodshuffle eval voice`` on real speech: the JSON contract, order independence, the
optional speaker column, and an unreadable file reported and skipped."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real

EMOTIONS = ("angry", "happy", "calm", "sad")


def write_dir(tmp: Path, rows: list[dict], speaker: bool) -> Path:
    tmp.mkdir()
    with open(tmp / "labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "emotion"] + (["speaker"] if speaker else []))
        for r in rows:
            w.writerow([r["path"], r["emotion"]] + ([r["speaker"]] if speaker else []))
    return tmp


def eval_voice(folder: Path) -> tuple[dict, str]:
    out = subprocess.run([sys.executable, "-m", "moodshuffle", "eval", "voice", str(folder)],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    return json.loads(out.strip().splitlines()[-1]), out


@pytest.fixture(scope="module")
def rows(shared_data) -> list[dict]:
    """Strong-intensity clips of four RAVDESS actors: 2 per emotion and actor."""
    with open(shared_data / "speech" / "labels.csv", newline="") as f:
        all_rows = list(csv.DictReader(f))
    chosen = []
    for actor in ("ravdess_21", "ravdess_22", "ravdess_23", "ravdess_24"):
        for e in EMOTIONS:
            match = [r for r in all_rows if r["speaker"] == actor and r["emotion"] == e and "strong" in r["note"]]
            chosen += [{**r, "path": str(shared_data / "speech" / r["file"])} for r in match[:2]]
    return chosen


def test_eval_voice_prints_the_figures_independent_of_row_order(rows, tmp_path):
    first, _ = eval_voice(write_dir(tmp_path / "a", rows, speaker=False))
    assert first["n"] == len(rows) == 32
    assert first["normalisation"] == "whole set"
    assert {"arousal_balanced_accuracy", "per_class_recall", "ms_per_second_of_audio"} <= set(first)
    assert set(first["per_class_recall"]) <= {"angry", "happy", "sad"}  # calm is not a voice class
    assert first["arousal_balanced_accuracy"] >= 0.7  # strong angry/happy against calm/sad
    reordered, _ = eval_voice(write_dir(tmp_path / "b", sorted(rows, key=lambda r: r["emotion"]), speaker=False))
    assert {k: v for k, v in reordered.items() if k != "ms_per_second_of_audio"} == \
        {k: v for k, v in first.items() if k != "ms_per_second_of_audio"}


def test_speaker_column_normalises_per_speaker_and_bad_file_is_skipped(rows, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really audio")
    with_bad = rows + [{"path": str(broken), "emotion": "angry", "speaker": "ravdess_21"}]
    result, out = eval_voice(write_dir(tmp_path / "c", with_bad, speaker=True))
    assert result["normalisation"] == "per speaker"
    assert result["n"] == 33 and "unreadable: " in out and "broken.wav" in out
    assert result["arousal_balanced_accuracy"] >= 0.7
