"""The voice path on real speech and real music: speech only, arousal, a missing device."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from moodshuffle.config import MicrophoneConfig, ModelsConfig
from moodshuffle.domain.observations import VoiceObservation
from moodshuffle.library.decode import decode_windows
from moodshuffle.perceive.voice import VoiceAnalyzer
from moodshuffle.sense.microphone import VoiceListener
from tests import REPO

pytestmark = pytest.mark.real


def load(path: Path) -> np.ndarray:
    (audio,) = decode_windows(path, 16000, 3600, 1)
    return audio


@pytest.fixture(scope="module")
def speech(shared_data):
    with open(shared_data / "speech" / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return shared_data / "speech", rows


@pytest.fixture(scope="module")
def unseen_music(shared_data) -> list[Path]:
    """4Q clips by artists the voice model's speech detector never saw in training."""
    spec = importlib.util.spec_from_file_location("train_voice", REPO / "models" / "train_voice.py")
    train_voice = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_voice)
    held = train_voice.music_artists("test")
    with open(shared_data / "music-4q" / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["artist"] in held]
    rows = sorted(rows, key=lambda r: r["file"])[:: max(1, len(rows) // 30)][:30]
    return [shared_data / "music-4q" / r["file"] for r in rows]


async def until(condition, timeout: float) -> None:
    """Wait until ``condition()`` holds, at most ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)


def pick(rows, emotion, n=12, corpus="ravdess"):
    chosen = [r for r in rows if r["emotion"] == emotion and r["corpus"] == corpus and "strong" in r["note"]]
    return chosen[:: max(1, len(chosen) // n)][:n]


def test_high_arousal_speech_reads_higher_than_low_arousal(speech):
    folder, rows = speech
    analyzer = VoiceAnalyzer(Path(ModelsConfig().voice))
    def mean_arousal(emotions):
        values = [o.arousal for e in emotions for r in pick(rows, e)
                  for o in analyzer.analyse(load(folder / r["file"]), 0.0)]
        assert values, emotions
        return float(np.mean(values))
    high = mean_arousal(["angry", "fearful"])
    low = mean_arousal(["sad", "calm"])
    assert high > low + 0.5, (high, low)


def test_music_alone_gives_no_voice_observation(unseen_music):
    analyzer = VoiceAnalyzer(Path(ModelsConfig().voice))
    per_clip = [len(analyzer.analyse(load(path), 0.0)) for path in unseen_music]
    segments = sum(1 for path in unseen_music for _ in analyzer.segments(load(path)))
    assert segments >= 150  # the endpointer did cut the music: the speech detector rejected it
    # sung vocals are the hard case: nearly every clip, and nearly every segment, stays silent
    assert sum(n == 0 for n in per_clip) >= 0.9 * len(per_clip), per_clip
    assert sum(per_clip) <= 0.04 * segments, per_clip


def test_speech_over_music_is_still_heard(speech, unseen_music):
    folder, rows = speech
    analyzer = VoiceAnalyzer(Path(ModelsConfig().voice))
    heard = 0
    clips = pick(rows, "angry", 6) + pick(rows, "happy", 6)
    for r, music_path in zip(clips, unseen_music, strict=False):
        voice = load(folder / r["file"])
        music = np.resize(load(music_path), len(voice))
        gain = np.sqrt(np.mean(voice**2) / np.mean(music**2) / 10 ** (10 / 10))  # music 10 dB under
        heard += bool(analyzer.analyse(voice + gain * music, 0.0))
    assert heard >= 0.8 * len(clips)


def test_file_source_listener_emits_observations_in_real_time(speech):
    folder, rows = speech
    clip = folder / pick(rows, "angry", 1)[0]["file"]
    listener = VoiceListener(MicrophoneConfig(source=str(clip), loop=True), VoiceAnalyzer(Path(ModelsConfig().voice)))

    async def go():
        seen = []
        task = asyncio.create_task(listener.run(seen.append))
        await until(lambda: len(seen) >= 2, 30)  # chunks of 4 s, analysed as they come
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return seen

    seen = asyncio.run(go())
    assert listener.status == "ON"
    assert seen and all(isinstance(o, VoiceObservation) for o in seen)
    assert all(-1 <= o.arousal <= 1 and 0 < o.confidence <= 1 for o in seen)


def test_absent_microphone_is_reported_and_survived():
    listener = VoiceListener(MicrophoneConfig(source="no such device"), VoiceAnalyzer(Path(ModelsConfig().voice)))

    async def go():
        task = asyncio.create_task(listener.run(lambda o: None))
        await until(lambda: listener.status == "unavailable", 10)
        alive = not task.done()
        status = listener.status
        listener.set_enabled(False)
        await until(lambda: listener.status == "OFF", 5)
        off = listener.status
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return alive, status, off

    alive, status, off = asyncio.run(go())
    assert alive and status == "unavailable"
    assert off == "OFF"


def test_lagging_analysis_drops_the_oldest_chunk_not_the_loop():
    listener = VoiceListener(MicrophoneConfig(source="no such device"), VoiceAnalyzer(Path(ModelsConfig().voice)))

    async def go():
        chunks: asyncio.Queue = asyncio.Queue(maxsize=2)
        for i in range(5):
            listener._offer(chunks, (np.zeros(4, np.float32), float(i)))
        return [chunks.get_nowait()[1] for _ in range(chunks.qsize())]

    assert asyncio.run(go()) == [3.0, 4.0]
    assert listener.dropped_chunks == 3
