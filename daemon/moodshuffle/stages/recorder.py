"""The listening history's writer: a listener of the controller that stores every play, how it
ended and every like or dislike in the index (``history.py``), one committed row per event.

The writes run in order on a thread of their own, never on the event loop: another process
(a ``moodshuffle scan``) may hold the index's write lock for as long as SQLite's busy timeout,
and music, MQTT and SIGTERM must not wait for it. Each event is written as soon as the thread
gets to it, so a ``kill -9`` loses at most the event being written (and, behind a held lock,
the ones queued after it).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from moodshuffle.core import CoreListener, FeedbackGiven, PlayEnded, TrackStarted
from moodshuffle.library.history import ListeningHistory
from moodshuffle.library.storage import explain

log = logging.getLogger("moodshuffle")

#: at shutdown, how long queued events may take to reach the disk
FLUSH_S = 1.0

_Write = Callable[[], None]


class HistoryRecorder(CoreListener):
    """Writes the controller's plays and feedback into ``history`` (it owns it: ``close``);
    prunes the rows older than the retention first."""

    def __init__(self, history: ListeningHistory, on_error: Callable[[str | None], None] | None = None) -> None:
        self._history = history
        #: told why writing fails (a full disk), once, and None once writing works again
        self._on_error = on_error
        self._failing: str | None = None
        self._lost = 0
        #: (track id, play id) of the play heard now; touched by the writer thread only
        self._open: tuple[int, int] | None = None
        self._queue: queue.Queue[_Write | None] = queue.Queue()
        # a daemon thread: a write stuck behind another process's lock must not hold up the exit
        self._thread = threading.Thread(target=self._run, name="history", daemon=True)
        self._thread.start()
        self._queue.put(self._prune)

    def track_started(self, event: TrackStarted) -> None:
        if event.context is None:
            return
        track, context = event.track, event.context

        def write() -> None:
            play_id = self._history.play_started(track.track_id, track.path, float(track.duration_s), context,
                                                   at=event.at)
            self._open = (track.track_id, play_id)

        self._queue.put(write)

    def play_ended(self, event: PlayEnded) -> None:
        def write() -> None:
            if self._open is not None and self._open[0] == event.track.track_id:
                self._history.play_ended(self._open[1], event.heard_s, event.outcome)
                self._open = None

        self._queue.put(write)

    def feedback_given(self, event: FeedbackGiven) -> None:
        def write() -> None:
            self._history.feedback(event.track.track_id, event.track.path, event.kind, event.context, at=event.at)

        self._queue.put(write)

    def close(self) -> None:
        """Write what is queued (for at most FLUSH_S), then close the history."""
        self._queue.put(None)
        self._thread.join(FLUSH_S)
        if self._thread.is_alive():
            log.warning("listening history: the index is busy; the last events were not written")
            return
        self._history.close()

    def _prune(self) -> None:
        gone = self._history.prune()
        if gone:
            log.info("listening history: %d rows older than %g days pruned", gone, self._history.retention_days)

    def _run(self) -> None:
        while (write := self._queue.get()) is not None:
            try:
                write()
            except Exception as exc:  # a full disk or a held lock loses this event, not the daemon
                self._failed(exc)
            else:
                self._recovered()

    def _failed(self, exc: Exception) -> None:
        """One line when writing starts failing (not a traceback per event), a state and an event."""
        self._lost += 1
        if self._failing is not None:
            return
        problem = explain(exc, self._history.path)
        self._failing = str(problem) if problem is not None else f"cannot write to {self._history.path}: {exc}"
        log.warning("listening history: %s; plays and likes are not recorded until it can write again",
                    self._failing)
        if self._on_error is not None:
            self._on_error(self._failing)

    def _recovered(self) -> None:
        if self._failing is None:
            return
        log.info("listening history: writing again (%d events were lost)", self._lost)
        self._failing, self._lost = None, 0
        if self._on_error is not None:
            self._on_error(None)
