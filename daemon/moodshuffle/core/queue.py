"""The core's queue and playback: the track playing, the one upcoming list (with the journey
target each track was chosen for) and the player's state and volume.

Pure: every change returns the events it causes, in order; ranking is handed in as a
``Ranking`` (how to choose, for which mood and policy), so this part never reads the mood,
the library or the taste itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from moodshuffle.core.events import Event, PauseRequested, PlayRequested, QueueReordered, VolumeChanged
from moodshuffle.core.state import PlaybackState, PlayerState, ReorderReason
from moodshuffle.domain.mood import MoodState
from moodshuffle.domain.policy import Policy
from moodshuffle.domain.tracks import Track, UpcomingTrack

#: choose the upcoming tracks after the track ``current`` (None: none) whose journey target was
#: ``start`` (None: begin at the mood)
Choose = Callable[[int | None, tuple[float, float] | None], tuple[UpcomingTrack, ...]]


@dataclass(frozen=True)
class Ranking:
    """What a reorder needs: how to choose, and what the choice is for (for the event)."""

    choose: Choose
    mood: MoodState
    policy: Policy
    #: playable tracks in the table (no QueueReordered for an empty library)
    tracks: int


class Queue:
    """``started`` once the listeners are in place; until then nothing is chosen or played."""

    def __init__(self, enabled: bool, volume: int) -> None:
        self.playback = PlaybackState.IDLE if enabled else PlaybackState.DISABLED
        self.volume = volume
        self.current: Track | None = None
        #: the policy target the current track was chosen for: uplift/calm journeys go on from it
        self.target: tuple[float, float] | None = None
        self.upcoming: tuple[UpcomingTrack, ...] = ()
        #: the track a ``next`` is replacing (its stop report is a skip)
        self.skipping: int | None = None
        self.started = False
        #: the current track was chosen in another client of the player (MPD), not from the list
        self.chosen_elsewhere = False

    @property
    def state(self) -> PlayerState:
        volume = None if self.playback == PlaybackState.DISABLED else self.volume
        return PlayerState(self.playback, volume, self.current, self.chosen_elsewhere)

    def is_current(self, track_id: int) -> bool:
        return self.current is not None and self.current.track_id == track_id

    def rank(self, reason: ReorderReason, ranking: Ranking) -> list[Event]:
        """Choose the upcoming list again after the current track."""
        current = self.current.track_id if self.current is not None else None
        self.upcoming = ranking.choose(current, self.target)
        if not ranking.tracks:
            return []
        return [QueueReordered(reason, ranking.policy, self.upcoming, ranking.mood, self.current)]

    def reorder(self, reason: ReorderReason, ranking: Ranking) -> list[Event]:
        """Choose the upcoming list again (the current track plays on); start playing when idle."""
        if not self.started or self.playback == PlaybackState.DISABLED:
            return []
        out = self.rank(reason, ranking)
        if self.playback == PlaybackState.IDLE and self.upcoming:
            out += self.advance(ranking)
        return out

    def advance(self, ranking: Ranking) -> list[Event]:
        """Play the head of the upcoming list (chosen again when empty), or stop and go idle when
        there is none."""
        out: list[Event] = []
        if not self.upcoming:
            self.current = None
            out += self.rank(ReorderReason.QUEUE_EMPTY, ranking)
        if not self.upcoming:
            if self.current is not None or self.playback != PlaybackState.IDLE:
                out.append(PlayRequested(None))
            self.current, self.target = None, None
            self.playback = PlaybackState.IDLE
            return out
        head, self.upcoming = self.upcoming[0], self.upcoming[1:]
        self.current, self.target, self.chosen_elsewhere = head.track, head.target, False
        self.playback = PlaybackState.PLAYING
        out.append(PlayRequested(head.track))
        return out

    def adopt(self, track: Track | None) -> Track | None:
        """The player moved by itself to ``track`` (None: one not in the library): it is the
        current track now, playing; chosen elsewhere unless it is the head of the upcoming list."""
        head = self.upcoming[0] if self.upcoming else None
        ours = track is not None and head is not None and head.track_id == track.track_id
        self.chosen_elsewhere = not ours
        if track is not None:
            self.upcoming = tuple(u for u in self.upcoming if u.track_id != track.track_id)
        self.current, self.target = track, head.target if ours and head is not None else None
        self.playback, self.skipping = PlaybackState.PLAYING, None
        return track

    def drop_current(self) -> None:
        """Forget the current track without asking the player anything (its file went away)."""
        self.current, self.target = None, None
        self.playback = PlaybackState.IDLE

    def forget_target(self) -> None:
        """Meet the listener where they are now: the next journey starts at the mood."""
        self.target = None

    def play(self, ranking: Ranking) -> list[Event]:
        """Resume when paused; start when idle or stopped."""
        if self.playback == PlaybackState.PAUSED:
            self.playback = PlaybackState.PLAYING
            return [PauseRequested(False)]
        if self.playback in (PlaybackState.IDLE, PlaybackState.STOPPED):
            return self.advance(ranking)
        return []

    def pause(self) -> list[Event]:
        if self.playback != PlaybackState.PLAYING:
            return []
        self.playback = PlaybackState.PAUSED
        return [PauseRequested(True)]

    def set_volume(self, volume: int) -> list[Event]:
        """0..100 (clamped)."""
        self.volume = max(0, min(100, int(volume)))
        return [VolumeChanged(self.volume)]
