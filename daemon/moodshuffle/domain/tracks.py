"""The in-memory view of the indexed library that ranking works on (read-only, numpy)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from moodshuffle.domain.emotions import EMOTION_COLUMNS, N_EMOTIONS
from moodshuffle.paths import folder_prefix


@dataclass(frozen=True)
class Track:
    """One playable track: what the player needs and what the state shows. ``duration_s``
    is 0 when unknown."""

    track_id: int
    path: str
    title: str
    artist: str
    album: str
    duration_s: float

    @property
    def name(self) -> str:
        """"artist - title", or the title alone when the artist is unknown."""
        return f"{self.artist} - {self.title}" if self.artist else self.title


@dataclass(frozen=True)
class TrackTable:
    """Every playable (analysed, not failed) track, row i describing one track.

    emotion: (N, EMOTION_COLUMNS) float32 rows of [7 probabilities over EMOTIONS, valence,
        arousal] (see ``emotions.from_quadrant_probs``); read them as ``probs`` and ``va``.
    tempo_bpm: (N,) float32, 0 where unknown.
    key: (N,) int8 pitch class 0..11 (0 = C), -1 where unknown; mode: (N,) int8, 1 major, 0 minor.
    energy: (N,) float32 in [0, 1]; loudness_db: (N,) float32 (integrated, dBFS-ish).
    genres: each track's genres, normalised (``tags.track_genres``), () where unknown.
    """

    ids: np.ndarray
    paths: list[str]
    titles: list[str]
    artists: list[str]
    albums: list[str]
    duration_s: np.ndarray
    emotion: np.ndarray
    tempo_bpm: np.ndarray
    key: np.ndarray
    mode: np.ndarray
    energy: np.ndarray
    loudness_db: np.ndarray
    genres: list[tuple[str, ...]]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def probs(self) -> np.ndarray:
        """(N, 7) probabilities over EMOTIONS of each track (a view, not a copy)."""
        return self.emotion[:, :N_EMOTIONS]

    @property
    def va(self) -> np.ndarray:
        """(N, 2) valence and arousal of each track in [-1, 1] (a view, not a copy)."""
        return self.emotion[:, N_EMOTIONS:]

    def track(self, row: int) -> Track:
        """The track in ``row``."""
        return Track(int(self.ids[row]), self.paths[row], self.titles[row], self.artists[row], self.albums[row],
                     float(self.duration_s[row]))

    def without(self, track_id: int) -> TrackTable:
        """This table less the track ``track_id`` (the same table when it is not here)."""
        return self._keep(self.ids != track_id)

    def without_under(self, folders: Iterable[str]) -> TrackTable:
        """This table less the tracks inside any of ``folders`` (absolute paths)."""
        # a track is a file, never a folder itself: inside means under one of the prefixes (one
        # C-level startswith per path: this runs on every library check)
        prefixes = tuple(folder_prefix(f) for f in folders)
        if not prefixes:
            return self
        return self._keep(np.array([not p.startswith(prefixes) for p in self.paths], dtype=bool))

    def _keep(self, keep: np.ndarray) -> TrackTable:
        if keep.all():
            return self
        rows = np.flatnonzero(keep)
        return TrackTable(
            ids=self.ids[keep], paths=[self.paths[r] for r in rows], titles=[self.titles[r] for r in rows],
            artists=[self.artists[r] for r in rows], albums=[self.albums[r] for r in rows],
            duration_s=self.duration_s[keep], emotion=self.emotion[keep], tempo_bpm=self.tempo_bpm[keep],
            key=self.key[keep], mode=self.mode[keep], energy=self.energy[keep], loudness_db=self.loudness_db[keep],
            genres=[self.genres[r] for r in rows],
        )

    @staticmethod
    def empty() -> TrackTable:
        z = np.zeros(0, np.float32)
        return TrackTable(
            ids=np.zeros(0, np.int64), paths=[], titles=[], artists=[], albums=[], duration_s=z,
            emotion=np.zeros((0, EMOTION_COLUMNS), np.float32), tempo_bpm=z, key=np.zeros(0, np.int8),
            mode=np.zeros(0, np.int8), energy=z, loudness_db=z, genres=[],
        )


@dataclass(frozen=True)
class ScoreParts:
    """Why a track was chosen, in score units: ``similarity`` to its target, ``transition``
    from the track before it, ``penalty`` (same artist, skipped in this mood; at most 0), and
    ``taste`` when ranked with a learned taste; under ``off`` only ``shuffle`` (a random draw).
    The score is their sum."""

    similarity: float = 0.0
    transition: float = 0.0
    penalty: float = 0.0
    taste: float | None = None
    shuffle: float | None = None

    def as_dict(self) -> dict[str, float]:
        """The parts that apply, by name (``shuffle`` alone under ``off``)."""
        if self.shuffle is not None:
            return {"shuffle": self.shuffle}
        out = {"similarity": self.similarity, "transition": self.transition, "penalty": self.penalty}
        if self.taste is not None:
            out["taste"] = self.taste
        return out

    @property
    def total(self) -> float:
        return float(sum(self.as_dict().values()))


@dataclass(frozen=True)
class UpcomingTrack:
    """One chosen track. index: its row in the TrackTable it was chosen from; va: the track's
    (valence, arousal); target: the (valence, arousal) it was chosen for (None under ``off``);
    score: the sum of its ``parts``."""

    index: int
    track: Track
    va: tuple[float, float]
    target: tuple[float, float] | None
    score: float
    parts: ScoreParts

    @property
    def track_id(self) -> int:
        return self.track.track_id

    @property
    def path(self) -> str:
        return self.track.path

    @property
    def title(self) -> str:
        return self.track.title

    @property
    def artist(self) -> str:
        return self.track.artist
