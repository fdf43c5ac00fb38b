"""Learn what the listener likes in which mood from skips, completions and likes (pure logic).

Rewards (``play_reward``, ``feedback_reward``): an explicit like/dislike is +-1; a skip early
in a track (``is_early_skip``: less than 30 s heard and less than half the track) is -0.6, a
dislike in that mood; a later skip -0.2 (heard a while, then enough); a track heard to its end
+0.2, a mild like. Failed and stopped plays teach nothing.

Where a preference holds: one model per mood *region*. The region is the quadrant of the
valence/arousal plane that the mood label's class sits in (``CLASS_VA``), with neutral on its
own: happy and surprise share Q1, angry, fear and disgust share Q2, sad is Q3. Regions of the
label rather than of the smoothed (valence, arousal) point, because the label is held by the
estimator's hysteresis while the point drifts, and a neutral room sits at the origin where
quadrant borders would scatter its evidence; pooling the rare tense labels gives them three
times the data, and the ranking already serves them the same music.

What is learned, per region: a Bayesian linear model of the reward over the track's features
(``FEATURES``: valence, arousal, their product, which with the intercept spans the four
quadrants, energy, tempo, mode; prior precision REGION_PRIOR_PRECISION), so three skipped loud
tracks when sad lower every other loud track when sad. Regions do not share weights. A shared
part (hierarchical prior) was measured with bench_feedback.py and dropped: carried into a mood
with no evidence yet, what a listener skipped in the others reordered the matched music there
and raised the skips of a listener who only skips music that does not fit the mood (tracks
26-50, 100 seeds: +1.9 +- 0.5 points over no learning, against +0.3 +- 0.4 with separate
regions); the one listener it helped (skips tense music in every mood) is served by the
rejection test below. A per-artist term (the artist's mean reward in the region, shrunk toward
its mean over all regions) and a per-genre term of the same shape add what features cannot see
(a listener who skips Latin music when happy). A track has every genre of its genre tag,
case-folded with its whitespace collapsed (``tags.track_genres``): "International; Latin" is
in both groups, since a library tagged by AllMusic lists Latin after Jazz or International on a
third of its happy Latin clips. A reward counts in full for each of the track's genres (each
genre's mean is the mean reward of the tracks that carry it), and a track's genre term is the
mean of its genres' shrunk means, a genre never heard counting 0: the 1/k falls once, in the
pooling. Splitting the reward 1/k as well (each genre's count too) did the same on
bench_feedback.py (the Latin listener's tracks 26-50, 100 seeds: 4.2% both; 4.6% with the first
genre alone, 7.0% without taste) and would count the ambiguity twice; summing the genres'
means instead of averaging them did worse (seeds 0-19: 4.8% against 4.0%, and the loud-when-sad
listener 6.6% against 5.2%), and so did taking the most negative of a track's genres when one is
negative (min-pooling; 100 seeds, tracks 26-50: Latin 4.0% against 4.3%, within the 0.35-point
standard error, and the loud-when-sad listener 5.2% against 4.6%, no longer halved). A track
with no genre tag, like one with no artist, gets no such term. Features are scaled by fixed
constants, not by library statistics, so a rescan does not change what was learned and a rebuild
from history gives the same model.

When the match itself is unwanted: a listener who skips whatever the mood match offers in a
region (bench_feedback.py: angry or tense music, in every mood) cannot be served by the linear
model alone. Everything the match offers there is alike, so its skips teach the intercept (left
out of the score, see below) and barely a contrast, and the learned term (capped at +-0.6) is
smaller than the similarity gap between the region's music and its neighbours' (about 0.9 in
the 4Q library). A good player moves away after two or three early skips in a row, and comes
back as soon as what the match offers is heard again. ``rejection`` does this with a sequential
test per region (Page's CUSUM of the log likelihood ratio, floored at 0 so that a change of
heart is found as fast as a first dislike): does the listener skip early REJECT_SKIP_RATE of the
music near the region's quadrant, or ACCEPT_SKIP_RATE? Each play counts by how close the track
sits to the quadrant (the cosine of its angle, ``_closeness``), so the evidence of early skips
is shared by the whole quadrant, and plays of the music it moved to neither confirm nor undo it.
The posterior probability of rejection, beyond its prior, lowers each track by up to
REJECT_DEPTH times its closeness: a certain rejection brings the region's centre level with
the music at a right angle to it (the neighbouring quadrants, chosen among by similarity as
usual), not below the opposite quadrant. With the rates symmetric about one half, a listener
who skips less than half of the matched music drifts back to the prior: at 15% random skips
one early skip moves the match a little for the next choice and the next completion undoes
it. Only plays feed the test, not the like and dislike buttons, which judge one track (and keep
a rebuild from history independent of the order of plays and presses). Measured on
bench_feedback.py, that listener's skips in tracks 26-50: 40.0% without learning, 33.3%
learning without the test, 20.0% with it (40 seeds; 38.8% and 18.4% with 100). Rates of
0.7/0.1 served them a little better (18.4%) and the loud-when-sad listener a little worse
(5.8% against 4.9%), both within noise; the symmetric rates were kept for what they mean
(rejected: most of it skipped early). A depth of 1.2 gained nothing measurable and cost mood
fit (a listener who skips a third of the happy music: 89% against 92%).

Exploration is Thompson sampling, one draw of the weights per ranking, and is bounded: the
learned term is clipped to +-``TASTE_MAX`` (0.6) and the sampled deviation from it to
+-``EXPLORE_MAX`` (score units, where similarity spans [-1, 1] and the shuffle temperature is
0.1), so taste reorders the candidates near the mood without taking the queue over. A model
with no evidence scores 0 everywhere: nothing learned, nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from moodshuffle.decide.taste_groups import GroupMeans, Groups, close_dicts
from moodshuffle.domain.emotions import CLASS_VA, INDEX, QUADRANT_VA, QUADRANTS
from moodshuffle.domain.history import FeedbackKind, FeedbackRecord, PlayOutcome, PlayRecord, is_early_skip
from moodshuffle.domain.tracks import TrackTable

REWARD_FEEDBACK = 1.0
REWARD_EARLY_SKIP = -0.6
REWARD_LATE_SKIP = -0.2
REWARD_COMPLETED = 0.2

FEATURES: tuple[str, ...] = ("bias", "valence", "arousal", "valence*arousal", "energy", "tempo", "major")
# fixed scalings, centred on the 720 scanned 4Q clips (energy median 0.72, interquartile 0.67-0.79)
_ENERGY_CENTRE, _ENERGY_SCALE = 0.72, 0.1
_TEMPO_CENTRE_BPM = 120.0

#: each region's weights start at N(0, 1 / REGION_PRIOR_PRECISION), in reward units per unit of feature
REGION_PRIOR_PRECISION = 4.0
NOISE_VAR = 0.25  # rewards around the model's line: a listener is not a function of four numbers
ARTIST_PRIOR_N = 2.0  # an artist's mean reward counts as if two neutral plays came first
GENRE_PRIOR_N = 2.0  # the same for a genre
#: the rejection test (``TasteModel.rejection``): the two early-skip rates of the music the match
#: offers that it tells apart (symmetric about one half: a region's match is rejected when most
#: of it is skipped), and the prior probability that a listener rejects a region's match
REJECT_SKIP_RATE = 0.85
ACCEPT_SKIP_RATE = 0.15
REJECT_PRIOR = 0.1
#: score units taken from a track at a rejected region's centre (the cosine of its angle to the
#: centre times this): about the similarity gap between the region's music and its neighbours'
REJECT_DEPTH = 1.0
TASTE_WEIGHT = 1.0  # score units per reward unit (bench/bench_feedback.py measured 0.5 and 1.0 alike)
TASTE_MAX = 0.6
EXPLORE_MAX = 0.08
EXPLORATION = 1.0  # scale of the Thompson draw around the posterior mean


def region_of(mood: str) -> str:
    """The mood region a label belongs to: "neutral", or the quadrant (Q1..Q4) of its class."""
    if mood == "neutral" or mood not in INDEX:
        return "neutral"
    v, a = CLASS_VA[INDEX[mood]]
    return QUADRANTS[(0 if a > 0 else 3) if v > 0 else (1 if a > 0 else 2)]


def play_reward(outcome: PlayOutcome | None, heard_s: float | None, duration_s: float) -> float | None:
    """The reward of a finished play, or None when it teaches nothing."""
    if outcome == PlayOutcome.COMPLETED:
        return REWARD_COMPLETED
    if outcome == PlayOutcome.SKIPPED and heard_s is not None:
        return REWARD_EARLY_SKIP if is_early_skip(heard_s, duration_s) else REWARD_LATE_SKIP
    return None


def feedback_reward(kind: FeedbackKind) -> float:
    return REWARD_FEEDBACK if kind == FeedbackKind.LIKE else -REWARD_FEEDBACK


def track_features(table: TrackTable) -> np.ndarray:
    """(N, len(FEATURES)) float64 features of every track, each roughly in [-2, 2]."""
    v = table.va[:, 0].astype(np.float64)
    a = table.va[:, 1].astype(np.float64)
    energy = (table.energy.astype(np.float64) - _ENERGY_CENTRE) / _ENERGY_SCALE
    bpm = table.tempo_bpm.astype(np.float64)
    # an octave of tempo is one unit: 60 and 240 bpm sit at -1 and +1
    tempo = np.where(bpm > 0, np.log2(np.maximum(bpm, 1e-3) / _TEMPO_CENTRE_BPM), 0.0)
    major = np.where(table.key >= 0, np.where(table.mode == 1, 1.0, -1.0), 0.0)
    out = np.stack([np.ones_like(v), v, a, 4 * v * a, energy, tempo, major], axis=1)
    return np.asarray(np.clip(out, -2.0, 2.0), np.float64)


def _closeness(va: np.ndarray, region: str) -> np.ndarray:
    """(N,) how close each (valence, arousal) row of ``va`` points to the region's quadrant:
    the cosine of its angle to the quadrant's centre, 1 there, 0 at a right angle and beyond;
    0 everywhere for neutral (no quadrant)."""
    va = np.asarray(va, np.float64).reshape(-1, 2)
    if region not in QUADRANTS:
        return np.zeros(len(va))
    centre = QUADRANT_VA[QUADRANTS.index(region)].astype(np.float64)
    cos = va @ centre / (np.linalg.norm(va, axis=1) * np.linalg.norm(centre) + 1e-9)
    return np.asarray(np.maximum(cos, 0.0), np.float64)


#: every region
REGIONS: tuple[str, ...] = ("neutral", *QUADRANTS)


class TasteModel:
    """What the listener likes per mood region, learned from rewards (see module docstring):
    one Bayesian linear model per region, the artist and genre terms and the rejection test."""

    def __init__(self) -> None:
        d = len(FEATURES)
        self._precision = {r: np.eye(d) * REGION_PRIOR_PRECISION for r in REGIONS}
        self._weighted = {r: np.zeros(d) for r in REGIONS}
        #: region -> rewards learned in it
        self.evidence: dict[str, int] = {}
        #: region -> the rejection test's statistic (log likelihood ratio, floored at 0)
        self._rejection_llr: dict[str, float] = {}
        self._artists = GroupMeans(ARTIST_PRIOR_N)
        self._genres = GroupMeans(GENRE_PRIOR_N)
        self._cache: tuple[TrackTable, np.ndarray, Groups, Groups] | None = None
        self._solved: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def features(self, table: TrackTable) -> np.ndarray:
        """``track_features(table)``, computed once per table."""
        return self._prepared(table)[1]

    def _prepared(self, table: TrackTable) -> tuple[TrackTable, np.ndarray, Groups, Groups]:
        """(table, features, artist groups, genre groups), once per table."""
        if self._cache is None or self._cache[0] is not table:
            self._cache = (table, track_features(table), Groups.of([(a,) if a else () for a in table.artists]),
                           Groups.of(table.genres))
        return self._cache

    def _region_weights(self, region: str) -> tuple[np.ndarray, np.ndarray]:
        """(mean, covariance) of the weights that score tracks in ``region``, solved once per change."""
        if region not in self._solved:
            cov = np.linalg.inv(self._precision[region])
            self._solved[region] = (cov @ self._weighted[region], cov)
        mean, cov = self._solved[region]
        return mean.copy(), cov

    def learn(self, table: TrackTable, row: int, mood: str, reward: float) -> None:
        """One reward for the track in ``row`` of ``table``, heard or judged in mood ``mood``."""
        region = region_of(mood)
        x = self.features(table)[row]
        self._precision[region] += np.outer(x, x) / NOISE_VAR
        self._weighted[region] += reward * x / NOISE_VAR
        self._solved.pop(region, None)
        self.evidence[region] = self.evidence.get(region, 0) + 1
        artist = table.artists[row]
        self._artists.learn(region, (artist,) if artist else (), reward)
        self._genres.learn(region, table.genres[row], reward)

    def rejection(self, region: str) -> float:
        """The probability that the listener rejects the music the mood match offers in
        ``region`` (skips most of it early), from the rejection test over the plays heard there
        (see the module docstring); REJECT_PRIOR before any evidence, 0 for neutral."""
        if region not in QUADRANTS:
            return 0.0
        logit = self._rejection_llr.get(region, 0.0) + np.log(REJECT_PRIOR / (1 - REJECT_PRIOR))
        return float(1.0 / (1.0 + np.exp(-logit)))

    def rejection_weight(self, region: str) -> float:
        """How far the match in ``region`` is moved away, in [0, 1]: the probability of rejection
        beyond its prior (the prior itself moves nothing), rescaled to reach 1 at certainty."""
        if self._rejection_llr.get(region, 0.0) <= 0.0:
            return 0.0  # exactly: the sigmoid of the prior's logit is the prior up to rounding
        return max(0.0, self.rejection(region) - REJECT_PRIOR) / (1 - REJECT_PRIOR)

    def _test_rejection(self, table: TrackTable, row: int, region: str, early_skip: bool) -> None:
        """One step of the rejection test: a play of ``row`` in ``region``, skipped early or not,
        counted by how close the track is to the region's quadrant (what the match offers)."""
        if region not in QUADRANTS:
            return
        rates = (REJECT_SKIP_RATE, ACCEPT_SKIP_RATE) if early_skip else (1 - REJECT_SKIP_RATE, 1 - ACCEPT_SKIP_RATE)
        step = float(_closeness(table.va[row], region)[0]) * np.log(rates[0] / rates[1])
        self._rejection_llr[region] = max(0.0, self._rejection_llr.get(region, 0.0) + step)

    def learn_play(self, table: TrackTable, row: int, mood: str, outcome: PlayOutcome | None,
                   heard_s: float | None) -> float | None:
        """Learn from a finished play; returns the reward used (None: nothing learned)."""
        reward = play_reward(outcome, heard_s, float(table.duration_s[row]))
        if reward is not None:
            self.learn(table, row, mood, reward)
            self._test_rejection(table, row, region_of(mood), reward == REWARD_EARLY_SKIP)
        return reward

    def predicted_reward(self, table: TrackTable, mood: str) -> np.ndarray:
        """(N,) the posterior mean reward of every track in ``mood``, intercept included (0 when
        nothing was learned in any region)."""
        if not self.evidence:
            return np.zeros(len(table))
        region = region_of(mood)
        return np.asarray(self.features(table) @ self._region_weights(region)[0] + self._group_terms(table, region),
                          np.float64)

    def scores(self, table: TrackTable, mood: str, rng: np.random.Generator | None = None) -> np.ndarray:
        """(N,) float32 taste score parts for ``rank_upcoming``, in [-TASTE_MAX - EXPLORE_MAX -
        REJECT_DEPTH, TASTE_MAX + EXPLORE_MAX] (the learned term, its exploration, and the
        rejection of the region's match). With ``rng``: one Thompson draw (exploration, bounded
        by EXPLORE_MAX); without: the posterior mean alone. All 0 while nothing was learned."""
        if not self.evidence:
            return np.zeros(len(table), np.float32)
        region = region_of(mood)
        x = self.features(table)
        mean, cov = self._region_weights(region)
        # the intercept is learned (so that it does not leak into the other weights) but left out
        # of the score: it moves every track of the region alike, and would only saturate the clip
        mean[0] = 0.0
        score = np.clip(TASTE_WEIGHT * (x @ mean + self._group_terms(table, region)), -TASTE_MAX, TASTE_MAX)
        score -= REJECT_DEPTH * self.rejection_weight(region) * _closeness(table.va, region)
        if rng is not None:
            deviation = EXPLORATION * (np.linalg.cholesky(cov) @ rng.standard_normal(len(FEATURES)))
            deviation[0] = 0.0
            score = score + np.clip(TASTE_WEIGHT * (x @ deviation), -EXPLORE_MAX, EXPLORE_MAX)
        return np.asarray(score, np.float32)

    def same_as(self, other: TasteModel) -> bool:
        """Whether both models learned the same (up to float rounding of the sums' order)."""
        return (self.evidence == other.evidence and self._artists.same_as(other._artists)
                and self._genres.same_as(other._genres) and close_dicts(self._rejection_llr, other._rejection_llr)
                and all(np.allclose(self._precision[r], other._precision[r], rtol=1e-9, atol=1e-12)
                        and np.allclose(self._weighted[r], other._weighted[r], rtol=1e-9, atol=1e-12)
                        for r in REGIONS))

    def _group_terms(self, table: TrackTable, region: str) -> np.ndarray:
        """(N,) the artist term plus the genre term of every track in ``region``."""
        _, _, artists, genres = self._prepared(table)
        return np.asarray(self._artists.term(artists, region) + self._genres.term(genres, region), np.float64)


def rebuild_taste(table: TrackTable, plays: Iterable[PlayRecord], feedback: Iterable[FeedbackRecord]) -> TasteModel:
    """The model the stored history teaches, for the tracks of ``table`` (a track that left the
    library teaches nothing: its features are gone). A track is found by id, else by path (a
    file removed and added again gets a new id)."""
    id_row = {int(t): r for r, t in enumerate(table.ids)}
    path_row = {p: r for r, p in enumerate(table.paths)}
    model = TasteModel()
    for play in plays:
        row = id_row.get(play.track_id, path_row.get(play.path))
        if row is not None:
            model.learn_play(table, row, play.context.label, play.outcome, play.heard_s)
    for fb in feedback:
        row = id_row.get(fb.track_id, path_row.get(fb.path))
        if row is not None:
            model.learn(table, row, fb.context.label, feedback_reward(fb.kind))
    return model
