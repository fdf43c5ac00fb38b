"""The taste learner (pure logic) and its part in the ranking."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from moodshuffle.config import MoodConfig
from moodshuffle.decide import taste as taste_mod
from moodshuffle.decide.ranking import PlayHistory, rank_upcoming
from moodshuffle.decide.taste import (
    REWARD_COMPLETED,
    REWARD_EARLY_SKIP,
    REWARD_LATE_SKIP,
    TasteModel,
    play_reward,
    rebuild_taste,
    region_of,
)
from moodshuffle.domain.history import FeedbackKind, MoodContext, PlayOutcome, is_early_skip
from moodshuffle.domain.mood import MoodState
from moodshuffle.library.history import ListeningHistory
from tests._tables import random_table


def mood(label: str, valence: float, arousal: float) -> MoodState:
    probs = np.full(7, 0.02, np.float32)
    from moodshuffle.domain.emotions import INDEX

    probs[INDEX[label]] = 0.88
    return MoodState(probs, valence, arousal, 0.9, label, 1, 0.0, 0.0)


SAD = mood("sad", -0.63, -0.27)
HAPPY = mood("happy", 0.81, 0.51)


def test_regions_pool_moods_of_the_same_quadrant():
    assert region_of("happy") == region_of("surprise") == "Q1"
    assert region_of("angry") == region_of("fear") == region_of("disgust") == "Q2"
    assert region_of("sad") == "Q3" and region_of("neutral") == "neutral"


def test_early_skip_is_under_30_s_and_under_half_the_track():
    assert is_early_skip(10, 240) and not is_early_skip(40, 240)
    assert is_early_skip(14, 30) and not is_early_skip(16, 30)
    assert is_early_skip(29, 0) and not is_early_skip(31, 0)
    assert play_reward(PlayOutcome.SKIPPED, 10, 240) == REWARD_EARLY_SKIP
    assert play_reward(PlayOutcome.SKIPPED, 100, 240) == REWARD_LATE_SKIP
    assert play_reward(PlayOutcome.COMPLETED, 240, 240) == REWARD_COMPLETED
    assert REWARD_EARLY_SKIP < REWARD_LATE_SKIP < 0 < REWARD_COMPLETED
    assert play_reward(PlayOutcome.FAILED, 0, 240) is None and play_reward(None, None, 240) is None


def test_three_disliked_loud_tracks_when_sad_lower_other_loud_tracks_when_sad_only():
    table = random_table(400, seed=3)
    table = dataclasses.replace(table, artists=[f"a{i}" for i in range(len(table))])  # no artist term
    loud = np.flatnonzero(table.energy > 0.8)
    quiet = np.flatnonzero(table.energy < 0.3)
    disliked, unseen_loud = loud[:3], loud[3:]
    model = TasteModel()
    for row in disliked:
        model.learn_play(table, int(row), "sad", PlayOutcome.SKIPPED, 5.0)
    sad = model.scores(table, "sad")
    assert sad[unseen_loud].mean() < sad[quiet].mean() - 0.05
    assert (sad[unseen_loud] < 0).mean() > 0.8
    # regions share no weights (bench_feedback.py: carried into a mood with no evidence of its
    # own, a guess from the others raised the skips of a listener who only wants the mood match)
    unseen = np.setdiff1d(np.arange(len(table)), disliked)  # the disliked ones' artists are learned
    assert not model.scores(table, "happy")[unseen].any()
    for row in loud[3:6]:  # heard to the end when happy: happy learns it, sad keeps its dislike
        model.learn_play(table, int(row), "happy", PlayOutcome.COMPLETED, 200.0)
    happy = model.scores(table, "happy")
    assert happy[loud[6:]].mean() > happy[quiet].mean()
    rest = np.setdiff1d(np.arange(len(table)), loud[3:6])  # (their artists' shared mean moved)
    assert np.array_equal(model.scores(table, "sad")[rest], sad[rest])


def test_exploration_is_bounded_and_real():
    table = random_table(300, seed=1)
    model = TasteModel()
    rng = np.random.default_rng(0)
    for row in rng.choice(300, 12, replace=False):
        model.learn(table, int(row), "sad", float(rng.choice([-1.0, 1.0])))
    for row in np.flatnonzero(table.energy > 0.5)[:40]:  # a strong, consistent dislike
        model.learn(table, int(row), "sad", -1.0)
    mean = model.scores(table, "sad")
    assert np.abs(mean).max() <= taste_mod.TASTE_MAX + 1e-6
    assert np.isclose(np.abs(mean).max(), taste_mod.TASTE_MAX), "the cap is reached by this much dislike"
    draws = np.stack([model.scores(table, "sad", np.random.default_rng(s)) for s in range(200)])
    assert np.abs(draws - mean).max() <= taste_mod.EXPLORE_MAX + 1e-6
    assert np.abs(draws - mean).max() > taste_mod.EXPLORE_MAX / 4, "Thompson draws do explore"
    assert not TasteModel().scores(table, "happy", np.random.default_rng(0)).any(), "no evidence, no exploration"


ANGRY = mood("angry", -0.51, 0.59)


def _quadrant_rows(table, quadrant: str) -> np.ndarray:
    """Rows whose (valence, arousal) points into ``quadrant`` (within 30 degrees of its centre)."""
    centre = taste_mod.QUADRANT_VA[taste_mod.QUADRANTS.index(quadrant)]
    cos = table.va @ centre / (np.linalg.norm(table.va, axis=1) * np.linalg.norm(centre) + 1e-9)
    return np.flatnonzero(cos > np.cos(np.radians(30)))


def test_two_or_three_early_skips_of_the_matched_music_reject_it_and_one_does_not(monkeypatch):
    table = random_table(300, seed=6)
    q2 = _quadrant_rows(table, "Q2")
    model = TasteModel()
    assert model.rejection("Q2") == pytest.approx(taste_mod.REJECT_PRIOR)
    rejection = []
    for row in q2[:3]:
        model.learn_play(table, int(row), "angry", PlayOutcome.SKIPPED, 4.0)
        rejection.append(model.rejection("Q2"))
    assert rejection[0] < 0.5 < rejection[1] < rejection[2] and rejection[2] > 0.9
    assert model.rejection("Q1") == pytest.approx(taste_mod.REJECT_PRIOR), "a rejection holds in its own region"
    # its part of the score: the quadrant's music sinks by about REJECT_DEPTH, music at a right
    # angle to it or beyond not at all, and happy not at all
    scores = {label: model.scores(table, label) for label in ("angry", "happy")}
    depth = taste_mod.REJECT_DEPTH
    monkeypatch.setattr(taste_mod, "REJECT_DEPTH", 0.0)
    part = {label: s - model.scores(table, label) for label, s in scores.items()}
    elsewhere = table.va @ taste_mod.QUADRANT_VA[taste_mod.QUADRANTS.index("Q2")] <= 0
    assert part["angry"][q2].mean() < -0.8 * depth and part["angry"].min() >= -depth - 1e-6
    assert np.allclose(part["angry"][elsewhere], 0, atol=1e-9) and not part["happy"].any()
    assert model.rejection_weight("Q1") == 0.0


def test_the_rejection_moves_the_angry_queue_to_the_neighbouring_quadrants_not_the_opposite(table):
    cfg = MoodConfig()
    quadrant = np.array(taste_mod.QUADRANTS)[np.argmax(table.va @ taste_mod.QUADRANT_VA.T, axis=1)]
    model = TasteModel()
    before = [u.index for s in range(5)
              for u in rank_upcoming(table, ANGRY, "match", PlayHistory(), 8, np.random.default_rng(s), cfg,
                                     taste=model.scores(table, "angry"))]
    for row in before[:3]:
        model.learn_play(table, row, "angry", PlayOutcome.SKIPPED, 4.0)
    after = [u.index for s in range(5)
             for u in rank_upcoming(table, ANGRY, "match", PlayHistory(), 8, np.random.default_rng(s), cfg,
                                    taste=model.scores(table, "angry", np.random.default_rng(s)))]
    assert np.mean(quadrant[before] == "Q2") > 0.9
    assert np.mean(quadrant[after] == "Q2") < 0.2
    assert np.mean(np.isin(quadrant[after], ["Q1", "Q3"])) > 0.7, "angry's neighbours, not calm music"


def test_the_matched_music_heard_to_the_end_again_lifts_the_rejection_and_other_music_does_not():
    table = random_table(300, seed=6)
    q2 = _quadrant_rows(table, "Q2")
    # music at a right angle to Q2 or beyond: where a rejection of Q2 moves the queue
    elsewhere = np.flatnonzero(table.va @ taste_mod.QUADRANT_VA[taste_mod.QUADRANTS.index("Q2")] <= 0)
    model = TasteModel()
    for row in q2[:4]:
        model.learn_play(table, int(row), "angry", PlayOutcome.SKIPPED, 4.0)
    rejected = model.rejection("Q2")
    for row in elsewhere[:10]:  # the music it moved to, heard to the end: no news about the match
        model.learn_play(table, int(row), "angry", PlayOutcome.COMPLETED, 200.0)
    assert model.rejection("Q2") == pytest.approx(rejected)
    for row in q2[4:10]:  # the match is wanted again: back to the prior, not below it
        model.learn_play(table, int(row), "angry", PlayOutcome.COMPLETED, 200.0)
    assert model.rejection("Q2") == pytest.approx(taste_mod.REJECT_PRIOR)
    for row in q2[10:12]:  # a change of heart is found as fast as the first one was
        model.learn_play(table, int(row), "angry", PlayOutcome.SKIPPED, 4.0)
    assert model.rejection("Q2") > 0.5


def test_random_skips_of_a_listener_without_preferences_rarely_reject_the_match():
    table = random_table(400, seed=8)
    q2 = _quadrant_rows(table, "Q2")
    rejected_share = []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        model = TasteModel()
        levels = []
        for _ in range(200):  # 15% skips at a uniform time: half of them early
            row = int(rng.choice(q2))
            skipped = rng.random() < 0.15
            model.learn_play(table, row, "angry", PlayOutcome.SKIPPED if skipped else PlayOutcome.COMPLETED,
                             float(rng.uniform(0, 200)) if skipped else 200.0)
            levels.append(model.rejection("Q2"))
        rejected_share.append(np.mean(np.array(levels) > 0.5))
    assert np.mean(rejected_share) < 0.02


def test_neutral_has_no_match_to_reject_and_the_buttons_do_not_feed_the_test():
    table = random_table(200, seed=6)
    model = TasteModel()
    for row in range(10):
        model.learn_play(table, row, "neutral", PlayOutcome.SKIPPED, 4.0)
        model.learn(table, int(_quadrant_rows(table, "Q3")[row]), "sad", -1.0)
    assert model.rejection("neutral") == 0.0
    assert model.rejection("Q3") == pytest.approx(taste_mod.REJECT_PRIOR)


def test_rebuilding_from_the_stored_history_gives_the_same_model(tmp_path):
    table = random_table(100, seed=2)
    history = ListeningHistory(tmp_path / "index.sqlite3", 180)
    online = TasteModel()
    rng = np.random.default_rng(4)
    start = time.time() - 3600  # within the retention: reopening prunes nothing
    for i in range(60):
        row = int(rng.integers(100))
        label = str(rng.choice(["sad", "happy", "neutral", "angry"]))
        ctx = MoodContext(label, 0.0, 0.0, "match")
        tid, path = int(table.ids[row]), table.paths[row]
        if i % 7 == 3:
            kind = FeedbackKind.LIKE if rng.random() < 0.5 else FeedbackKind.DISLIKE
            history.feedback(tid, path, kind, ctx, at=start + i)
            online.learn(table, row, label, 1.0 if kind == FeedbackKind.LIKE else -1.0)
            continue
        play = history.play_started(tid, path, float(table.duration_s[row]), ctx, at=start + i)
        outcome = [PlayOutcome.COMPLETED, PlayOutcome.SKIPPED, PlayOutcome.FAILED][i % 3]
        heard = float(rng.uniform(0, 200))
        history.play_ended(play, heard, outcome)
        online.learn_play(table, row, label, outcome, heard)
    history.close()
    stored = ListeningHistory(tmp_path / "index.sqlite3", 180)
    rebuilt = rebuild_taste(table, stored.plays(), stored.feedback_records())
    assert rebuilt.same_as(online)
    for label in ("sad", "happy", "neutral", "angry"):
        assert np.allclose(rebuilt.scores(table, label), online.scores(table, label), atol=1e-6)
    fewer = rebuild_taste(table, stored.plays()[1:], stored.feedback_records())
    assert not fewer.same_as(online)


def test_a_track_that_left_the_library_teaches_nothing_and_a_re_added_one_is_found_by_path():
    table = random_table(20)
    ctx = MoodContext("sad", -0.5, -0.2, "match")
    from moodshuffle.domain.history import FeedbackRecord

    gone = FeedbackRecord(999, "/gone.ogg", 1.0, FeedbackKind.DISLIKE, ctx)
    assert rebuild_taste(table, [], [gone]).evidence == {}
    readded = FeedbackRecord(999, table.paths[3], 1.0, FeedbackKind.DISLIKE, ctx)
    assert rebuild_taste(table, [], [readded]).evidence == {"Q3": 1}


def test_an_artist_disliked_in_a_mood_sinks_its_other_tracks_in_that_mood():
    table = random_table(160, seed=5)  # 20 artists of 8 tracks
    model = TasteModel()
    artist = table.artists[0]
    rows = [i for i, a in enumerate(table.artists) if a == artist]
    for row in rows[:3]:
        model.learn(table, row, "sad", -1.0)
    scores = model.scores(table, "sad")
    others = [i for i, a in enumerate(table.artists) if a != artist]
    assert scores[rows[3:]].mean() < scores[others].mean() - 0.05


def test_a_genre_skipped_when_happy_sinks_its_unheard_tracks_when_happy_and_less_elsewhere():
    table = random_table(160, seed=6)
    genres = [("latin",) if i % 4 == 0 else ("pop/rock",) if i % 4 == 1 else () for i in range(len(table))]
    # one artist per track: what moves the unheard Latin tracks is their genre alone
    table = dataclasses.replace(table, genres=genres, artists=[f"a{i}" for i in range(len(table))])
    latin = [i for i, g in enumerate(genres) if "latin" in g]
    model = TasteModel()
    for row in latin[:3]:
        model.learn_play(table, row, "happy", PlayOutcome.SKIPPED, 5.0)
    happy, sad = model.scores(table, "happy"), model.scores(table, "sad")
    others = [i for i, g in enumerate(genres) if "latin" not in g]
    # features (bias left out of the score) learned from three tracks barely move the rest
    assert happy[latin[3:]].mean() < happy[others].mean() - 0.2
    # per region, shrunk toward the genre's all-mood mean: a little lower when sad, far less
    assert happy[latin[3:]].mean() < sad[latin[3:]].mean() < 0
    no_genre = [i for i, g in enumerate(genres) if not g]
    assert not sad[no_genre].any()  # sad learned nothing else, and () is no genre
    # heard to the end when sad: the sad term turns, the happy one stays a dislike
    for row in latin[3:9]:
        model.learn_play(table, row, "sad", PlayOutcome.COMPLETED, 200.0)
    assert model.scores(table, "sad")[latin[9:]].mean() > 0 > model.scores(table, "happy")[latin[9:]].mean()


def test_every_genre_of_a_track_is_credited_and_its_term_is_the_mean_over_its_genres():
    kinds = [("jazz", "latin"), ("latin",), ("latin", "pop/rock"), ("pop/rock",), ()]
    table = random_table(200, seed=7)
    table = dataclasses.replace(table, genres=[kinds[i % 5] for i in range(len(table))],
                                artists=[f"a{i}" for i in range(len(table))])
    untagged = dataclasses.replace(table, genres=[() for _ in range(len(table))])
    heard = [i for i in range(len(table)) if i % 5 == 0][:4]  # Latin second: a first genre would miss it
    model, without = TasteModel(), TasteModel()
    for row in heard:
        model.learn(table, row, "happy", -1.0)
        without.learn(untagged, row, "happy", -1.0)
    # the features learn the same in both: the difference is the genre term alone
    term = model.predicted_reward(table, "happy") - without.predicted_reward(untagged, "happy")
    by_kind = [term[[i for i in range(len(table)) if i % 5 == k and i not in heard]] for k in range(5)]
    # each genre of the heard tracks got the full reward, shrunk toward its all-mood mean
    n, prior = len(heard), taste_mod.GENRE_PRIOR_N
    shrunk = (-n + prior * (-n / (n + prior))) / (n + prior)
    assert by_kind[0] == pytest.approx(shrunk) and by_kind[1] == pytest.approx(shrunk)
    assert by_kind[2] == pytest.approx(shrunk / 2)  # the mean with Pop/Rock, never heard
    assert not by_kind[3].any() and not by_kind[4].any()


def test_the_genre_term_is_rebuilt_from_history_and_shown_in_the_taste_part(table):
    table = dataclasses.replace(table, artists=[f"a{i}" for i in range(len(table))])
    latin = [i for i, g in enumerate(table.genres) if "latin" in g]
    assert len(latin) > 50  # the 4Q clips' AllMusic genres, every one of each (tests/_tables.py)
    # learned from Latin-only tracks, so that no other genre is lowered
    only_latin = [i for i in latin if table.genres[i] == ("latin",)][:2]
    model = TasteModel()
    for row in only_latin:
        model.learn(table, row, "happy", -1.0)
    other = TasteModel()
    for row in only_latin:
        other.learn(table, row, "happy", -1.0)
    assert model.same_as(other)
    other.learn(table, latin[2], "happy", -1.0)
    assert not model.same_as(other)
    scores = model.scores(table, "happy")
    untagged = dataclasses.replace(table, genres=[() for _ in table.genres])
    without = TasteModel()
    for row in only_latin:
        without.learn(untagged, row, "happy", -1.0)
    lowered = without.scores(untagged, "happy") - scores  # what the genre term takes away
    unheard = [i for i in latin if i not in only_latin]
    rest = [i for i, g in enumerate(table.genres) if "latin" not in g]
    assert lowered[unheard].mean() > 0.1 and not lowered[rest].any()
    cfg = MoodConfig(artist_gap=0)
    is_latin = np.array(["latin" in g for g in table.genres])
    shares = {}
    for taste in (None, scores):
        queues = [rank_upcoming(table, HAPPY, "match", PlayHistory(), 30, np.random.default_rng(seed), cfg,
                                taste=taste) for seed in range(5)]
        if taste is not None:
            assert all(u.parts.taste == pytest.approx(scores[u.index]) for q in queues for u in q)
        shares[taste is None] = np.mean([is_latin[u.index] for q in queues for u in q])
    assert shares[False] < shares[True] / 2


def test_ranking_shows_taste_as_its_own_part_and_learned_dislikes_change_the_queue(table):
    # energy independent of the quadrant, so that sad music comes loud and quiet
    table = dataclasses.replace(table, energy=np.random.default_rng(7).uniform(0.4, 1.0, len(table)).astype(np.float32))
    cfg = MoodConfig(temperature=0.05, artist_gap=0)
    loud = table.energy > np.median(table.energy)
    before = rank_upcoming(table, SAD, "match", PlayHistory(), 10, np.random.default_rng(0), cfg,
                           taste=np.zeros(len(table), np.float32))
    assert all(set(u.parts.as_dict()) == {"similarity", "transition", "penalty", "taste"} for u in before)
    model = TasteModel()
    for u in [u for u in before if loud[u.index]][:3]:
        model.learn_play(table, u.index, "sad", PlayOutcome.SKIPPED, 4.0)
    loud_share = []
    for seed in range(5):
        queue = rank_upcoming(table, SAD, "match", PlayHistory(), 10, np.random.default_rng(seed), cfg,
                              taste=model.scores(table, "sad"))
        for u in queue:
            assert u.score == pytest.approx(u.parts.total, abs=1e-5)
        loud_share.append(np.mean([loud[u.index] for u in queue]))
    plain = [np.mean([loud[u.index] for u in rank_upcoming(table, SAD, "match", PlayHistory(), 10,
                                                            np.random.default_rng(s), cfg)]) for s in range(5)]
    assert np.mean(loud_share) < np.mean(plain) - 0.2


def test_taste_leaves_off_a_plain_shuffle_and_must_fit_the_table(table):
    cfg = MoodConfig()
    huge = np.full(len(table), 5.0, np.float32)
    a = rank_upcoming(table, SAD, "off", PlayHistory(), 5, np.random.default_rng(0), cfg, taste=huge)
    b = rank_upcoming(table, SAD, "off", PlayHistory(), 5, np.random.default_rng(0), cfg)
    assert [u.track_id for u in a] == [u.track_id for u in b] and a[0].parts.taste is None
    with pytest.raises(ValueError, match="taste"):
        rank_upcoming(table, SAD, "match", PlayHistory(), 5, np.random.default_rng(0), cfg, taste=huge[:3])
