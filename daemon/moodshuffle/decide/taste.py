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

What is learned: a Bayesian linear model per region of the reward over the track's features
(``FEATURES``: valence, arousal, their product, which with the intercept spans the four
quadrants, energy, tempo, mode), so three skipped loud tracks when sad lower every other loud
track when sad. A per-artist term (a shrunk mean of that artist's rewards in the region) adds
what features cannot see. Features are scaled by fixed constants, not by library statistics,
so a rescan does not change what was learned and a rebuild from history gives the same model.

Exploration is Thompson sampling, one draw of the weights per ranking, and is bounded: the
learned term is clipped to +-``TASTE_MAX`` and the sampled deviation from it to
+-``EXPLORE_MAX`` (score units, where similarity spans [-1, 1] and the shuffle temperature is
0.1), so taste reorders the candidates near the mood without taking the queue over. A region
with no evidence scores 0 everywhere: nothing learned, nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from moodshuffle.emotions import CLASS_VA, INDEX, QUADRANTS
from moodshuffle.library.history import FeedbackKind, FeedbackRecord, PlayOutcome, PlayRecord
from moodshuffle.library.table import TrackTable

REWARD_FEEDBACK = 1.0
REWARD_EARLY_SKIP = -0.6
REWARD_LATE_SKIP = -0.2
REWARD_COMPLETED = 0.2
#: a skip before this many seconds (and before EARLY_SKIP_SHARE of the track) is early
EARLY_SKIP_S = 30.0
EARLY_SKIP_SHARE = 0.5

FEATURES: tuple[str, ...] = ("bias", "valence", "arousal", "valence*arousal", "energy", "tempo", "major")
# fixed scalings, centred on the 720 scanned 4Q clips (energy median 0.72, interquartile 0.67-0.79)
_ENERGY_CENTRE, _ENERGY_SCALE = 0.72, 0.1
_TEMPO_CENTRE_BPM = 120.0

PRIOR_PRECISION = 1.0  # weights start at N(0, 1) in reward units per unit of feature
NOISE_VAR = 0.25  # rewards around the model's line: a listener is not a function of four numbers
ARTIST_PRIOR_N = 2.0  # an artist's mean reward counts as if two neutral plays came first
TASTE_WEIGHT = 1.0  # score units per reward unit (bench/bench_feedback.py measured 0.5 and 1.0 alike)
TASTE_MAX = 0.3
EXPLORE_MAX = 0.08
EXPLORATION = 1.0  # scale of the Thompson draw around the posterior mean


def region_of(mood: str) -> str:
    """The mood region a label belongs to: "neutral", or the quadrant (Q1..Q4) of its class."""
    if mood == "neutral" or mood not in INDEX:
        return "neutral"
    v, a = CLASS_VA[INDEX[mood]]
    return QUADRANTS[(0 if a > 0 else 3) if v > 0 else (1 if a > 0 else 2)]


def is_early_skip(heard_s: float, duration_s: float) -> bool:
    """A skip before ``EARLY_SKIP_S`` seconds and before ``EARLY_SKIP_SHARE`` of the track
    (``duration_s`` 0 or less: unknown, only the seconds count)."""
    share_limit = EARLY_SKIP_SHARE * duration_s if duration_s > 0 else EARLY_SKIP_S
    return heard_s < min(EARLY_SKIP_S, share_limit)


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
    v = table.emotion[:, 7].astype(np.float64)
    a = table.emotion[:, 8].astype(np.float64)
    energy = (table.energy.astype(np.float64) - _ENERGY_CENTRE) / _ENERGY_SCALE
    bpm = table.tempo_bpm.astype(np.float64)
    # an octave of tempo is one unit: 60 and 240 bpm sit at -1 and +1
    tempo = np.where(bpm > 0, np.log2(np.maximum(bpm, 1e-3) / _TEMPO_CENTRE_BPM), 0.0)
    major = np.where(table.key >= 0, np.where(table.mode == 1, 1.0, -1.0), 0.0)
    out = np.stack([np.ones_like(v), v, a, 4 * v * a, energy, tempo, major], axis=1)
    return np.clip(out, -2.0, 2.0)


@dataclass
class _Region:
    """Sufficient statistics of one region: precision matrix, precision-weighted mean, counts."""

    precision: np.ndarray
    weighted: np.ndarray
    evidence: int = 0
    artist_sum: dict[str, float] = field(default_factory=dict)
    artist_n: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def prior() -> _Region:
        d = len(FEATURES)
        return _Region(PRIOR_PRECISION * np.eye(d), np.zeros(d))

    def mean(self) -> np.ndarray:
        return np.linalg.solve(self.precision, self.weighted)


class TasteModel:
    """What the listener likes per mood region, learned from rewards (see module docstring)."""

    def __init__(self) -> None:
        self.regions: dict[str, _Region] = {}
        self._cache: tuple[TrackTable, np.ndarray, np.ndarray, list[str]] | None = None

    def features(self, table: TrackTable) -> np.ndarray:
        """``track_features(table)``, computed once per table."""
        return self._prepared(table)[1]

    def _prepared(self, table: TrackTable) -> tuple[TrackTable, np.ndarray, np.ndarray, list[str]]:
        """(table, features, artist code per row, artist names by code), once per table."""
        if self._cache is None or self._cache[0] is not table:
            names, codes = np.unique(np.array(table.artists, dtype=object).astype(str), return_inverse=True)
            self._cache = (table, track_features(table), codes.reshape(-1), [str(n) for n in names])
        return self._cache

    def learn(self, table: TrackTable, row: int, mood: str, reward: float) -> None:
        """One reward for the track in ``row`` of ``table``, heard or judged in mood ``mood``."""
        x = self.features(table)[row]
        region = self.regions.setdefault(region_of(mood), _Region.prior())
        region.precision += np.outer(x, x) / NOISE_VAR
        region.weighted += reward * x / NOISE_VAR
        region.evidence += 1
        artist = table.artists[row]
        if artist:
            region.artist_sum[artist] = region.artist_sum.get(artist, 0.0) + reward
            region.artist_n[artist] = region.artist_n.get(artist, 0) + 1

    def learn_play(self, table: TrackTable, row: int, mood: str, outcome: PlayOutcome | None,
                   heard_s: float | None) -> float | None:
        """Learn from a finished play; returns the reward used (None: nothing learned)."""
        reward = play_reward(outcome, heard_s, float(table.duration_s[row]))
        if reward is not None:
            self.learn(table, row, mood, reward)
        return reward

    def predicted_reward(self, table: TrackTable, mood: str) -> np.ndarray:
        """(N,) the posterior mean reward of every track in ``mood``, intercept included (0 for a
        region never taught)."""
        region = self.regions.get(region_of(mood))
        if region is None:
            return np.zeros(len(table))
        return self.features(table) @ region.mean() + self._artist_term(table, region)

    def scores(self, table: TrackTable, mood: str, rng: np.random.Generator | None = None) -> np.ndarray:
        """(N,) float32 taste score parts for ``rank_upcoming``, in [-TASTE_MAX - EXPLORE_MAX,
        TASTE_MAX + EXPLORE_MAX]. With ``rng``: one Thompson draw (exploration, bounded by
        EXPLORE_MAX); without: the posterior mean alone."""
        region = self.regions.get(region_of(mood))
        if region is None:
            return np.zeros(len(table), np.float32)
        x = self.features(table)
        mean = region.mean()
        # the intercept is learned (so that it does not leak into the other weights) but left out
        # of the score: it moves every track of the region alike, and would only saturate the clip
        mean[0] = 0.0
        score = np.clip(TASTE_WEIGHT * (x @ mean + self._artist_term(table, region)), -TASTE_MAX, TASTE_MAX)
        if rng is not None:
            # theta ~ N(mean, EXPLORATION^2 * precision^-1): with precision = L L^T, the draw
            # is mean + EXPLORATION * L^-T z
            chol = np.linalg.cholesky(region.precision)
            deviation = EXPLORATION * np.linalg.solve(chol.T, rng.standard_normal(len(FEATURES)))
            deviation[0] = 0.0
            score = score + np.clip(TASTE_WEIGHT * (x @ deviation), -EXPLORE_MAX, EXPLORE_MAX)
        return score.astype(np.float32)

    def same_as(self, other: TasteModel) -> bool:
        """Whether both models learned the same (up to float rounding of the sums' order)."""
        if self.regions.keys() != other.regions.keys():
            return False
        for name, a in self.regions.items():
            b = other.regions[name]
            if (a.evidence != b.evidence or a.artist_n != b.artist_n
                    or not np.allclose(a.precision, b.precision, rtol=1e-9, atol=1e-12)
                    or not np.allclose(a.weighted, b.weighted, rtol=1e-9, atol=1e-12)
                    or a.artist_sum.keys() != b.artist_sum.keys()
                    or not all(np.isclose(a.artist_sum[k], b.artist_sum[k]) for k in a.artist_sum)):
                return False
        return True

    def _artist_term(self, table: TrackTable, region: _Region) -> np.ndarray:
        """(N,) each track's artist's shrunk mean reward in ``region`` (0 for an unknown artist)."""
        _, _, codes, names = self._prepared(table)
        per_artist = np.array([
            region.artist_sum.get(name, 0.0) / (region.artist_n.get(name, 0) + ARTIST_PRIOR_N) if name else 0.0
            for name in names
        ]) if region.artist_n else np.zeros(max(1, len(names)))
        return per_artist[codes] if len(codes) else np.zeros(0)


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
