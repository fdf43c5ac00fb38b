"""The mood estimator on its shipped defaults, fed by the real camera path on real frames:
posed photographs held as a camera would see a person sitting still (small moves of head and
light, sensor noise on every frame), real video frames, one frame every ``camera.interval_s``
(2 s) of simulated time."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from moodshuffle.config import Config, ModelsConfig, MoodConfig
from moodshuffle.domain.emotions import CLASS_VA, INDEX
from moodshuffle.domain.mood import MoodState
from moodshuffle.estimate.mood import MoodEstimator
from moodshuffle.estimate.naming import load_naming
from moodshuffle.evaluation import scenes
from moodshuffle.evaluation.mood import replay
from moodshuffle.evaluation.mood_score import VALENCE_SHOWN
from moodshuffle.perceive.faces import FaceAnalyzer

pytestmark = pytest.mark.real

INTERVAL = Config().camera.interval_s
NEGATIVE = [i for i, (v, _) in enumerate(CLASS_VA) if v < 0]


@pytest.fixture(scope="module")
def posed(shared_data) -> dict[str, dict[str, tuple[np.ndarray, ...]]]:
    """performer -> emotion -> photos (faces/posed)."""
    paths: dict[str, dict[str, list[Path]]] = {}
    with open(shared_data / "faces" / "posed" / "labels.csv", newline="") as f:
        for r in csv.DictReader(f):
            paths.setdefault(r["performer"], {}).setdefault(r["emotion"], []).append(
                shared_data / "faces" / "posed" / r["file"])
    return {who: {e: scenes.load(p) for e, p in by.items()} for who, by in paths.items()}


def watch(analyzer: FaceAnalyzer, parts: list[scenes.Part], seed: int = 0) -> list[tuple[float, MoodState]]:
    """The scene through the camera path and a MoodEstimator on the shipped defaults (its
    settings and the shipped departure naming)."""
    estimator = MoodEstimator(MoodConfig(), load_naming(ModelsConfig()))
    return [(t, s) for t, s, _ in replay(scenes.frames(parts, 1 / INTERVAL, seed), analyzer, estimator)]


def shows_negative(s: MoodState) -> bool:
    return INDEX[s.label] in NEGATIVE or s.valence < -VALENCE_SHOWN


@pytest.mark.parametrize("performer", ["02", "03", "05", "06", "07", "08", "09", "10"])
def test_a_sustained_laugh_turns_the_mood_happy_within_15_s(analyzer, posed, performer):
    ph = posed[performer]
    timeline = watch(analyzer, [scenes.Part(ph["neutral"], 20, "neutral"), scenes.Part(ph["happy"], 30, "happy")])
    assert all(s.label == "neutral" for t, s in timeline if t < 20)
    turned = next(t for t, s in timeline if s.label == "happy") - 20
    # not on one frame, and within the promise
    assert INTERVAL <= turned <= 15, turned


def negativity(analyzer: FaceAnalyzer, photos: tuple[np.ndarray, ...]) -> float:
    """Mean probability the face model puts on negative-valence classes over the photos."""
    reads = [analyzer.analyze(img, 0.0) for img in photos]
    return float(np.mean([o[0].probs[NEGATIVE].sum() for o in reads if o]))


def test_rest_sadness_laughter_show_sadness_then_happiness_with_few_changes(analyzer, posed):
    """The issue's 80 s: 20 s at rest, 30 s sad, 30 s laughing, for the two performers whose
    sad photos the face model reads as most negative (showing sadness also depends on the
    model reading it; the estimator's part is not to bury it)."""
    scored = sorted(((negativity(analyzer, ph["sad"]), who) for who, ph in posed.items()), reverse=True)[:2]
    assert scored[-1][0] >= 0.4, scored
    for _, who in scored:
        ph = posed[who]
        timeline = watch(analyzer, [scenes.Part(ph["neutral"], 20, "neutral"), scenes.Part(ph["sad"], 30, "sad"),
                                    scenes.Part(ph["happy"], 30, "happy")])
        sad = [s for t, s in timeline if 20 <= t < 50]
        assert sum(shows_negative(s) for s in sad) >= len(sad) / 2, who
        assert any(s.label == "happy" for t, s in timeline if 50 <= t <= 65), who
        labels = [s.label for _, s in timeline]
        assert sum(a != b for a, b in zip(labels, labels[1:], strict=False)) <= 5, who


def test_a_resting_face_the_model_reads_as_mildly_negative_does_not_become_the_mood(analyzer, shared_data):
    """The neutral photos (faces/posed and Yale) that the face model reads as most negative:
    three minutes at rest leave the label neutral, and after the first 20 s the valence
    within +-VALENCE_SHOWN."""
    rows = []
    for folder in (shared_data / "faces" / "posed", shared_data / "faces"):
        with open(folder / "labels.csv", newline="") as f:
            rows += [(folder / r["file"], r.get("performer") or r["subject"]) for r in csv.DictReader(f)
                     if r["emotion"] == "neutral"]
    people: dict[str, list[Path]] = {}
    for path, who in rows:
        people.setdefault(who, []).append(path)

    scored = sorted(((negativity(analyzer, scenes.load(p)), who) for who, p in people.items()), reverse=True)[:3]
    if scored[0][0] < 0.3:
        pytest.skip(f"the face model reads no resting face as negative (at most {scored[0][0]:.2f})")
    for negative, who in scored:
        timeline = watch(analyzer, [scenes.Part(scenes.load(people[who]), 180, "neutral")])
        assert all(s.label == "neutral" for _, s in timeline), (who, negative)
        late = [s.valence for t, s in timeline if t >= 20]
        assert max(abs(v) for v in late) <= VALENCE_SHOWN, (who, negative, min(late))


def test_a_brief_smile_after_a_minute_at_rest_changes_nothing(analyzer, shared_data):
    """single_face.mp4: its resting frames for a minute, the whole clip (a 1.8 s smile), rest."""
    clip = scenes.video_frames(shared_data / "faces" / "media" / "single_face.mp4")
    parts = [scenes.Part(clip[:18], 60, "neutral", clip_fps=30), scenes.Part(clip, 2.4, None, clip_fps=30),
             scenes.Part(clip[:18], 40, "neutral", clip_fps=30)]
    for seed in range(3):  # the smile lands on a different frame of the sampling each time
        timeline = watch(analyzer, parts, seed)
        assert any(s.faces for _, s in timeline)
        assert all(s.label == "neutral" for _, s in timeline)


def test_one_odd_frame_among_resting_frames_changes_nothing(analyzer, posed):
    """A single laughing frame (and, separately, a single sad one) in two minutes of rest."""
    ph = posed["05"]
    for odd in ("happy", "sad"):
        parts = [scenes.Part(ph["neutral"], 60, "neutral"), scenes.Part(ph[odd][:1], INTERVAL, odd),
                 scenes.Part(ph["neutral"], 60, "neutral")]
        timeline = watch(analyzer, parts)
        assert all(s.label == "neutral" for _, s in timeline), odd


def test_nobody_seen_decays_gently_toward_neutral(analyzer, posed, shared_data):
    """30 s of laughing, then two minutes of no_face.mp4: the mood keeps most of its valence
    for the first 10 s, then falls without a jump back, and is neutral within two minutes."""
    nobody = scenes.video_frames(shared_data / "faces" / "media" / "no_face.mp4")
    timeline = watch(analyzer, [scenes.Part(posed["03"]["happy"], 30, "happy"),
                                scenes.Part(nobody, 120, None, clip_fps=24)])
    before = [s for t, s in timeline if t < 30][-1]
    after = [s for t, s in timeline if t >= 30]
    assert before.label == "happy" and before.valence > 0.3
    assert all(s.faces == 0 for s in after)
    valence = [s.valence for s in after]
    confidence = [s.confidence for s in after]
    assert all(b <= a + 1e-6 for a, b in zip(valence, valence[1:], strict=False))
    assert all(b <= a + 1e-6 for a, b in zip(confidence, confidence[1:], strict=False))
    assert next(s.valence for t, s in timeline if t >= 40) >= 0.8 * before.valence
    assert after[-1].label == "neutral" and abs(after[-1].valence) < 0.5 * before.valence


def rest_then(analyzer: FaceAnalyzer, posed, performer: str, emotion: str) -> tuple[float, list[MoodState]]:
    """20 s of the performer's neutral photos (asserted to read neutral), then 30 s of ``emotion``:
    the seconds until the label named it, and the states of the last 15 s."""
    ph = posed[performer]
    timeline = watch(analyzer, [scenes.Part(ph["neutral"], 20, "neutral"), scenes.Part(ph[emotion], 30, emotion)])
    assert all(s.label == "neutral" for t, s in timeline if t < 20)
    named = next((t for t, s in timeline if s.label == emotion), np.inf) - 20
    return named, [s for t, s in timeline if t >= 35]


@pytest.mark.parametrize("performer", ["05", "08", "10"])
def test_a_sad_stretch_is_named_sad_and_sits_in_the_sad_quadrant(analyzer, posed, performer):
    """Issue 27: a sad face the model splits across sad, disgust, fear and angry is named sad
    (rest or departed, then the quadrant, then the class as the departure naming reads the
    departure's shape), and its mood point sits in the low-arousal negative quadrant, so the
    music is sad or calm, not tense. Three of the five performers whose sad scenes the naming
    names sad in bench/sweep_label.py (06 and 09 are not named so in these jittered scenes)."""
    named, late = rest_then(analyzer, posed, performer, "sad")
    assert INTERVAL <= named <= 15, named
    assert sum(s.valence < 0 and s.arousal < 0 for s in late) >= 0.8 * len(late)
    assert sum(s.label == "sad" for s in late) >= 0.8 * len(late)


@pytest.mark.parametrize("performer", ["05", "08"])
def test_a_fearful_stretch_is_named_fear(analyzer, posed, performer):
    """Issue 27: fear, which the model spreads over fear, surprise, sad and angry (it names
    under a tenth of these photos fear), is named fear within 15 s by the departure naming; before
    it, fear was named in 1 of the 8 performers' scenes (bench/sweep_label.py)."""
    named, late = rest_then(analyzer, posed, performer, "fear")
    assert INTERVAL <= named <= 15, named
    assert sum(s.valence < 0 for s in late) >= 0.8 * len(late)
