"""Choose the next tracks as a sequence, each from the one before (pure logic, numpy).

score = similarity (cosine in the shared emotion space between the track and its target)
      + TRANSITION_WEIGHT * transition (tempo, key, energy from the previous track, in [0, 1])
      - penalties (same artist within ``artist_gap`` tracks, skipped in this mood)
      + taste (optional: what the listener was learned to like in this mood, ``decide/taste.py``).
Tracks played within the last ``no_repeat_share`` of the library are not candidates. Among
the best ``CANDIDATES`` the next track is drawn with a softmax of ``score / temperature``,
so the queue stays a shuffle. Every choice carries its score parts.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from moodshuffle.config import MoodConfig
from moodshuffle.decide.policies import targets
from moodshuffle.domain.emotions import embed
from moodshuffle.domain.mood import MoodState
from moodshuffle.domain.policy import Policy
from moodshuffle.domain.tracks import ScoreParts, TrackTable, UpcomingTrack

TRANSITION_WEIGHT = 0.3
ARTIST_PENALTY = 0.5
SKIP_PENALTY = 0.4
CANDIDATES = 20


@dataclass
class PlayHistory:
    """What has played and what the listener skipped, in which mood."""

    recent: deque[int] = field(default_factory=lambda: deque(maxlen=100_000))
    skips: dict[tuple[int, str], int] = field(default_factory=dict)

    def record_play(self, track_id: int) -> None:
        self.recent.append(int(track_id))

    def record_skip(self, track_id: int, mood: str) -> None:
        key = (int(track_id), mood)
        self.skips[key] = self.skips.get(key, 0) + 1

    def last(self, k: int) -> list[int]:
        """The ids of the last ``k`` plays, most recent last."""
        if k <= 0:
            return []
        return list(self.recent)[-k:]


class _Prepared:
    """Per-table arrays computed once (embeddings, artist codes, circle-of-fifths positions)."""

    def __init__(self, table: TrackTable) -> None:
        self.table = table
        emb = embed(table.probs, table.va)
        self.unit = emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-9)
        names = np.array(table.artists, dtype=object).astype(str)
        _, codes = np.unique(names, return_inverse=True)
        # an unknown artist is nobody's namesake: give each such track a code of its own
        self.artist = np.where(names == "", -1 - np.arange(len(names)), codes)
        key = table.key.astype(np.int64)
        # relative major of a minor key shares its position on the circle of fifths
        major_pc = np.where(table.mode == 1, key, (key + 3) % 12)
        self.fifths = np.where(key >= 0, (major_pc * 7) % 12, -1)
        self.log_tempo = np.where(table.tempo_bpm > 0, np.log2(np.maximum(table.tempo_bpm, 1e-3)), np.nan)
        self.id_to_row = {int(i): r for r, i in enumerate(table.ids)}


_cache: list[_Prepared] = []


def _prepared(table: TrackTable) -> _Prepared:
    if not _cache or _cache[0].table is not table:
        _cache[:] = [_Prepared(table)]
    return _cache[0]


def transition_scores(p: _Prepared, prev: int) -> np.ndarray:
    """How smoothly each track follows row ``prev``, in [0, 1] (0.5 where a feature is unknown).

    Tempo: octave-folded log2 ratio (half and double time count as the same pulse);
    key: distance on the circle of fifths with relative minor = major; energy: difference."""
    t = p.table
    d = p.log_tempo - p.log_tempo[prev]
    d = np.abs(d - np.round(d))  # fold octaves: 2x and 0.5x -> 0
    tempo = np.where(np.isnan(d), 0.5, np.exp(-((d / 0.12) ** 2)))
    if p.fifths[prev] < 0:
        key = np.full(len(t), 0.5)
    else:
        dist = np.abs(p.fifths - p.fifths[prev])
        dist = np.minimum(dist, 12 - dist)
        key = np.where(p.fifths < 0, 0.5, 1.0 - dist / 6.0)
    energy = 1.0 - np.abs(t.energy - t.energy[prev])
    return np.asarray(0.4 * tempo + 0.3 * key + 0.3 * energy, np.float32)


def rank_upcoming(
    table: TrackTable,
    mood: MoodState,
    policy: Policy,
    history: PlayHistory,
    n: int,
    rng: np.random.Generator,
    cfg: MoodConfig,
    current: int | None = None,
    start: tuple[float, float] | None = None,
    taste: np.ndarray | None = None,
) -> list[UpcomingTrack]:
    """The next ``n`` tracks (fewer if the library is smaller) for ``mood`` under ``policy``
    (skips count in ``mood.label``). ``current``: the id of the track playing
    now (never chosen; the first transition starts from it). ``start``: the target of the
    current track, so that uplift/calm journeys continue across reorders. ``taste``: (N,) score
    parts per table row (``TasteModel.scores``), added as the part "taste"; ignored under ``off``,
    which stays a plain shuffle."""
    size = len(table)
    if size == 0 or n <= 0:
        return []
    if taste is not None and len(taste) != size:
        raise ValueError(f"taste: {len(taste)} scores for a table of {size} tracks")
    p = _prepared(table)
    goals = targets(policy, mood.point, n, cfg.step, start)
    if goals is not None:
        target_emb = embed(np.stack([g.probs for g in goals]), np.array([[g.valence, g.arousal] for g in goals]))
        target_emb /= np.linalg.norm(target_emb, axis=1, keepdims=True) + 1e-9
        similarity = p.unit @ target_emb.T  # (N, n)

    blocked = np.zeros(size, bool)
    for tid in history.last(int(cfg.no_repeat_share * size)):
        row = p.id_to_row.get(tid)
        if row is not None:
            blocked[row] = True
    prev = p.id_to_row.get(current) if current is not None else None
    if prev is not None:
        blocked[prev] = True
    if blocked.all():  # a small library has played through: only the current track is out
        blocked[:] = False
        if prev is not None:
            blocked[prev] = True

    skip = np.zeros(size, np.float32)
    for (tid, mood_label), count in history.skips.items():
        row = p.id_to_row.get(tid)
        if row is not None and mood_label == mood.label:
            skip[row] += SKIP_PENALTY * min(count, 3)

    recent_artists = [p.artist[r] for r in ([prev] if prev is not None else [])]
    for tid in reversed(history.last(cfg.artist_gap)):
        row = p.id_to_row.get(tid)
        if row is not None and len(recent_artists) < cfg.artist_gap:
            recent_artists.insert(0, p.artist[row])

    chosen: list[UpcomingTrack] = []
    for k in range(min(n, size)):
        if blocked.all():
            break
        sim = similarity[:, k] if goals is not None else np.zeros(size, np.float32)
        trans = transition_scores(p, prev) if prev is not None else np.zeros(size, np.float32)
        gap = recent_artists[-cfg.artist_gap:] if cfg.artist_gap else []
        penalty = skip + ARTIST_PENALTY * np.isin(p.artist, gap)
        if goals is None:  # plain shuffle: random order, still no repeats
            score = rng.random(size).astype(np.float32)
        else:
            score = (sim + TRANSITION_WEIGHT * trans - penalty).astype(np.float32)
            if taste is not None:
                score = score + taste.astype(np.float32)
        score = np.where(blocked, -np.inf, score)
        allowed = int((~blocked).sum())
        top = np.argpartition(-score, min(CANDIDATES, allowed) - 1)[: min(CANDIDATES, allowed)]
        if goals is None or cfg.temperature <= 0:
            row = int(top[np.argmax(score[top])])
        else:
            logits = (score[top] - score[top].max()) / cfg.temperature
            weights = np.exp(logits)
            row = int(rng.choice(top, p=weights / weights.sum()))
        if goals is None:
            parts = ScoreParts(shuffle=float(score[row]))
            target = None
        else:
            parts = ScoreParts(similarity=float(sim[row]), transition=float(TRANSITION_WEIGHT * trans[row]),
                               penalty=float(-penalty[row]),
                               taste=float(taste[row]) if taste is not None else None)
            target = (goals[k].valence, goals[k].arousal)
        va = table.va[row]
        chosen.append(UpcomingTrack(index=row, track=table.track(row), va=(float(va[0]), float(va[1])),
                                    target=target, score=parts.total, parts=parts))
        blocked[row] = True
        recent_artists.append(p.artist[row])
        prev = row
    return chosen
