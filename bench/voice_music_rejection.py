"""How often the speaker's own music is taken for speech: every 4Q clip by an artist the voice
model never saw in training, cut by the daemon's endpointer, through the speech head.

    .venv/bin/python bench/voice_music_rejection.py [--model PATH]

Prints the share of music segments at or above the daemon's speech threshold (and at 0.5).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MUSIC = REPO.parent / "shared" / "data" / "music-4q"
sys.path.insert(0, str(REPO / "daemon"))

from moodshuffle.config import ModelsConfig  # noqa: E402
from moodshuffle.library.decode import decode_windows  # noqa: E402
from moodshuffle.perceive.voice import SPEECH_THRESHOLD, VoiceAnalyzer, endpoint  # noqa: E402
from moodshuffle.perceive.voice_features import SAMPLE_RATE, segment_features  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path(ModelsConfig().voice))
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("train_voice", REPO / "models" / "train_voice.py")
    train_voice = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_voice)
    held = train_voice.music_artists("test")
    with open(MUSIC / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["artist"] in held]
    analyzer = VoiceAnalyzer(args.model)
    probs = []
    for r in rows:
        (audio,) = decode_windows(MUSIC / r["file"], SAMPLE_RATE, 3600, 1)
        probs += [analyzer.speech_probability(segment_features(audio[s:e])) for s, e in endpoint(audio)]
    p = np.array(probs)
    print(json.dumps({"clips": len(rows), "artists": len(held), "segments": len(p),
                      f"taken_for_speech_at_{SPEECH_THRESHOLD}": round(float((p >= SPEECH_THRESHOLD).mean()), 4),
                      "taken_for_speech_at_0.5": round(float((p >= 0.5).mean()), 4)}))


if __name__ == "__main__":
    main()
