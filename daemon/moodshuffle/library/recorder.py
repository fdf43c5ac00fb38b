"""The listening history's writer: a listener of the controller that stores every play, how it
ended and every like or dislike in the index (``history.py``), one committed row per event, so
a ``kill -9`` loses at most the event being written.

The writes are synchronous on the event loop: a few small fsynced transactions per track, and a
slow disk should delay the next event rather than reorder or lose one.
"""

from __future__ import annotations

from moodshuffle.core import CoreListener, FeedbackGiven, PlayEnded, TrackStarted
from moodshuffle.library.history import ListeningHistory


class HistoryRecorder(CoreListener):
    """Writes the controller's plays and feedback into ``history`` (it owns it: ``close``)."""

    def __init__(self, history: ListeningHistory) -> None:
        self._history = history
        #: (track id, play id) of the play heard now
        self._open: tuple[int, int] | None = None

    def track_started(self, event: TrackStarted) -> None:
        if event.context is None:
            return
        track = event.track
        play_id = self._history.play_started(track.track_id, track.path, float(track.duration_s), event.context)
        self._open = (track.track_id, play_id)

    def play_ended(self, event: PlayEnded) -> None:
        if self._open is None or self._open[0] != event.track.track_id:
            return
        self._history.play_ended(self._open[1], event.heard_s, event.outcome)
        self._open = None

    def feedback_given(self, event: FeedbackGiven) -> None:
        self._history.feedback(event.track.track_id, event.track.path, event.kind, event.context)

    def close(self) -> None:
        self._history.close()
