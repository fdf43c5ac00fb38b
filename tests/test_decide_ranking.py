"""Policies and ranking on the real 4Q clips' table (pure logic)."""

from __future__ import annotations

import numpy as np
import pytest

from moodshuffle.config import MoodConfig
from moodshuffle.decide.policies import targets
from moodshuffle.decide.ranking import PlayHistory, rank_upcoming
from moodshuffle.domain.emotions import INDEX, QUADRANTS, EmotionPoint
from moodshuffle.domain.observations import FaceObservation
from moodshuffle.domain.policy import Policy
from moodshuffle.estimate.mood import MoodEstimator
from tests._tables import random_table


def quadrant_of(table, row: int) -> str:
    v, a = table.va[row]
    return QUADRANTS[(0 if a > 0 else 3) if v > 0 else (1 if a > 0 else 2)]


def face(name: str, t: float) -> FaceObservation:
    p = np.full(7, 0.1 / 6, np.float32)
    p[INDEX[name]] = 0.9
    return FaceObservation(p, 0.9, 120, t)


def scripted_moods(cfg: MoodConfig):
    """neutral for a minute, sad for five minutes, then happy for three (a frame every 2 s):
    the state at the end of each phase."""
    est = MoodEstimator(cfg)
    script = ["neutral"] * 30 + ["sad"] * 150 + ["happy"] * 90
    states = []
    for i, name in enumerate(script):
        est.observe(face(name, 2.0 * i))
        state = est.update(2.0 * i)
        if i + 1 in (30, 180, 270):
            states.append(state)
    assert [s.label for s in states] == ["neutral", "sad", "happy"]
    return states


def test_match_follows_the_scripted_mood(table):
    cfg = MoodConfig(temperature=0.05)
    rng = np.random.default_rng(1)
    expected = {"neutral": {"Q4", "Q1"}, "sad": {"Q3"}, "happy": {"Q1"}}
    for state in scripted_moods(cfg):
        queue = rank_upcoming(table, state, Policy.MATCH, PlayHistory(), 10, rng, cfg)
        quads = [quadrant_of(table, u.index) for u in queue]
        share = sum(q in expected[state.label] for q in quads) / len(quads)
        assert share >= 0.8, (state.label, quads)


def test_uplift_raises_target_valence_by_bounded_steps_from_sad(table):
    cfg = MoodConfig(step=0.25, temperature=0.05)
    sad = scripted_moods(cfg)[1]
    history = PlayHistory()
    rng = np.random.default_rng(2)
    queue = rank_upcoming(table, sad, Policy.UPLIFT, history, 10, rng, cfg)
    points = np.array([u.target for u in queue])
    assert np.allclose(points[0], [sad.valence, sad.arousal], atol=1e-5), "starts where the listener is"
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    assert (steps <= cfg.step + 1e-5).all()
    assert (np.diff(points[:, 0]) >= -1e-6).all() and points[-1, 0] > points[0, 0] + 0.5
    quads = [quadrant_of(table, u.index) for u in queue]
    assert quads[0] == "Q3", "the first track meets the sad listener"
    assert "Q1" not in quads[:2], "never jumps from sad to party"
    assert quads[-1] in ("Q1", "Q4")


def test_uplift_journey_continues_across_reorders(table):
    cfg = MoodConfig(step=0.2, temperature=0.0)
    sad = scripted_moods(cfg)[1]
    first = rank_upcoming(table, sad, Policy.UPLIFT, PlayHistory(), 3, np.random.default_rng(0), cfg)
    later = rank_upcoming(table, sad, Policy.UPLIFT, PlayHistory(), 3, np.random.default_rng(0), cfg,
                          current=first[0].track_id, start=first[0].target)
    assert np.allclose(later[0].target, first[1].target, atol=1e-5)


def test_calm_lowers_arousal_step_by_step():
    t = targets(Policy.CALM, EmotionPoint(np.full(7, 1 / 7), 0.5, 0.6), 8, 0.2)
    arousal = [x.arousal for x in t]
    assert all(b < a for a, b in zip(arousal, arousal[1:], strict=False))


def test_no_repeats_no_current_and_artist_gap(table):
    cfg = MoodConfig(artist_gap=3, temperature=0.3)
    state = scripted_moods(cfg)[0]
    history = PlayHistory()
    for tid in table.ids[:100]:
        history.record_play(int(tid))
    queue = rank_upcoming(table, state, Policy.MATCH, history, 10, np.random.default_rng(3), cfg, current=5)
    ids = [u.track_id for u in queue]
    assert len(set(ids)) == 10 and not set(ids) & set(int(i) for i in table.ids[:100])
    artists = [u.artist for u in queue]
    for i in range(1, len(artists)):
        assert artists[i] not in artists[max(0, i - 3): i]


def test_skipped_track_is_penalised_in_that_mood_only(table):
    cfg = MoodConfig(temperature=0.0)
    state = scripted_moods(cfg)[-1]
    best = rank_upcoming(table, state, Policy.MATCH, PlayHistory(), 1, np.random.default_rng(0), cfg)[0]
    history = PlayHistory()
    history.record_skip(best.track_id, state.label)
    again = rank_upcoming(table, state, Policy.MATCH, history, 1, np.random.default_rng(0), cfg)[0]
    assert again.track_id != best.track_id
    other = PlayHistory()
    other.record_skip(best.track_id, "sad" if state.label != "sad" else "happy")
    unrelated = rank_upcoming(table, state, Policy.MATCH, other, 1, np.random.default_rng(0), cfg)[0]
    assert unrelated.track_id == best.track_id


def test_every_choice_carries_its_score_parts(table):
    cfg = MoodConfig()
    state = scripted_moods(cfg)[-1]
    for u in rank_upcoming(table, state, Policy.UPLIFT, PlayHistory(), 5, np.random.default_rng(0), cfg):
        assert set(u.parts.as_dict()) == {"similarity", "transition", "penalty"}
        assert u.score == pytest.approx(u.parts.total)


def test_off_is_a_plain_shuffle_without_repeats():
    table = random_table(50)
    cfg = MoodConfig()
    state = MoodEstimator(cfg).update(0.0)
    a = rank_upcoming(table, state, Policy.OFF, PlayHistory(), 10, np.random.default_rng(0), cfg)
    b = rank_upcoming(table, state, Policy.OFF, PlayHistory(), 10, np.random.default_rng(1), cfg)
    assert [u.track_id for u in a] != [u.track_id for u in b]
    assert len({u.track_id for u in a}) == 10 and all(u.target is None for u in a)


def test_small_library_that_played_through_still_yields_a_queue():
    table = random_table(5)
    cfg = MoodConfig(no_repeat_share=1.0)
    history = PlayHistory()
    for tid in table.ids:
        history.record_play(int(tid))
    state = MoodEstimator(cfg).update(0.0)
    queue = rank_upcoming(table, state, Policy.MATCH, history, 10, np.random.default_rng(0), cfg, current=1)
    assert 1 <= len(queue) <= 4 and all(u.track_id != 1 for u in queue)


@pytest.mark.real
def test_on_the_scanned_index_match_follows_and_uplift_climbs(scanned_4q):
    """The same script on the real index: emotions from the music model, not from labels."""
    from moodshuffle.library.index import TrackIndex

    _, index = scanned_4q
    table = TrackIndex(index).load_table()
    assert len(table) == 40
    cfg = MoodConfig(step=0.25, temperature=0.05, artist_gap=0)
    neutral, sad, happy = scripted_moods(cfg)
    rng = np.random.default_rng(5)
    valence = table.va[:, 0]
    sad_queue = rank_upcoming(table, sad, Policy.MATCH, PlayHistory(), 5, rng, cfg)
    happy_queue = rank_upcoming(table, happy, Policy.MATCH, PlayHistory(), 5, rng, cfg)
    assert np.mean([valence[u.index] for u in sad_queue]) < 0 < np.mean([valence[u.index] for u in happy_queue])
    uplift = rank_upcoming(table, sad, Policy.UPLIFT, PlayHistory(), 8, rng, cfg)
    targets_v = [u.target[0] for u in uplift]
    assert all(b >= a - 1e-6 for a, b in zip(targets_v, targets_v[1:], strict=False))
    assert valence[uplift[0].index] < 0 < valence[uplift[-1].index]
