"""The VLC queue (adapter: python-vlc).

One ``vlc.MediaPlayer`` plays the current track; the upcoming tracks are our own list, so a
reorder (``set_upcoming``) replaces only what has not started and the current track always
plays to its end, or until the listener skips.

Threads: every libVLC call happens in one worker thread fed by a command queue. libVLC's
event callbacks only put events on that queue (calling libVLC from inside its own callbacks
deadlocks). Listener callbacks are delivered on the asyncio loop given to the constructor
(``call_soon_threadsafe``), or in the worker thread without one. Listener attributes, all
optional: ``track_started(track)``, ``track_finished(track)``, ``track_failed(track, reason)``,
``skipped(track, position_s)`` (a ``next`` within ``SKIP_WINDOW_S`` of the start) and
``queue_empty()``.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vlc

from moodshuffle.config import PlayerConfig

log = logging.getLogger("moodshuffle.player")

#: a skip this early counts as the listener disliking the track in this mood
SKIP_WINDOW_S = 30.0


@dataclass(frozen=True)
class QueuedTrack:
    """A track the player can play; duration_s may be 0 when unknown."""

    track_id: int
    path: str
    title: str
    artist: str
    album: str
    duration_s: float


class VlcPlayer:
    """Plays a queue of QueuedTrack with libVLC. State: playing, paused, stopped or idle
    (nothing left to play)."""

    def __init__(self, cfg: PlayerConfig, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self._instance = vlc.Instance(["--no-video", "--no-xlib", *cfg.vlc_args])
        if self._instance is None:
            raise RuntimeError(f"libVLC rejected the arguments {cfg.vlc_args}")
        self._mp = self._instance.media_player_new()
        self._commands: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        self._upcoming: list[QueuedTrack] = []
        self._current: QueuedTrack | None = None
        self._started_at = 0.0
        self._playing_seen = False
        self._state = "idle"
        self._volume = cfg.volume
        self.track_started: Callable[[QueuedTrack], None] | None = None
        self.track_finished: Callable[[QueuedTrack], None] | None = None
        self.track_failed: Callable[[QueuedTrack, str], None] | None = None
        self.skipped: Callable[[QueuedTrack, float], None] | None = None
        self.queue_empty: Callable[[], None] | None = None
        events = self._mp.event_manager()
        # Each event carries the generation of the media it belongs to, so a late event of a
        # track we already left cannot advance the queue a second time.
        self._generation = 0
        for kind, name in (("MediaPlayerEndReached", "ended"), ("MediaPlayerEncounteredError", "error"),
                           ("MediaPlayerPlaying", "playing")):
            events.event_attach(getattr(vlc.EventType, kind),
                                lambda e, name=name: self._commands.put((name, self._generation)))
        self._worker = threading.Thread(target=self._run, name="vlc-player", daemon=True)
        self._worker.start()

    # ----------------------------------------------------------------- public API (any thread)
    @property
    def state(self) -> str:
        return self._state

    @property
    def current(self) -> QueuedTrack | None:
        return self._current

    @property
    def upcoming(self) -> list[QueuedTrack]:
        with self._lock:
            return list(self._upcoming)

    @property
    def volume(self) -> int:
        return self._volume

    @property
    def position_s(self) -> float:
        ms = self._mp.get_time()
        return max(0.0, ms / 1000.0) if ms is not None else 0.0

    def set_upcoming(self, tracks: list[QueuedTrack]) -> None:
        """Replace the tracks after the current one; the current track is not touched."""
        with self._lock:
            self._upcoming = list(tracks)

    def play(self) -> None:
        self._commands.put(("play", None))

    def pause(self) -> None:
        self._commands.put(("pause", None))

    def next(self) -> None:
        self._commands.put(("next", None))

    def set_volume(self, volume: int) -> None:
        """0..100."""
        self._volume = max(0, min(100, int(volume)))
        self._commands.put(("volume", self._volume))

    def stop(self) -> None:
        """Stop playback (blocks until libVLC has stopped, at most a second or two)."""
        done = threading.Event()
        self._commands.put(("stop", done))
        done.wait(timeout=3)

    def close(self) -> None:
        """Stop and release libVLC; the player cannot be used afterwards."""
        if self._worker.is_alive():
            self._commands.put(("quit", None))
            self._worker.join(timeout=3)
        self._mp.release()
        self._instance.release()

    # ----------------------------------------------------------------- worker thread
    def _run(self) -> None:
        while True:
            command, arg = self._commands.get()
            try:
                if command == "quit":
                    self._mp.stop()
                    return
                self._handle(command, arg)
            except Exception:  # a bad event must not kill the player thread
                log.exception("player command %s failed", command)

    def _handle(self, command: str, arg: Any) -> None:
        if command in ("playing", "ended", "error") and arg != self._generation:
            return
        if command == "play":
            if self._state == "paused":
                self._mp.set_pause(0)
                self._state = "playing"
            elif self._state in ("idle", "stopped"):
                self._advance()
        elif command == "pause":
            if self._state == "playing":
                self._mp.set_pause(1)
                self._state = "paused"
        elif command == "next":
            track = self._current
            if track is not None:
                position = time.monotonic() - self._started_at
                if position < SKIP_WINDOW_S:
                    self._emit(self.skipped, track, round(position, 1))
            self._advance()
        elif command == "volume":
            self._mp.audio_set_volume(arg)
        elif command == "playing":
            if self._current is not None and not self._playing_seen:
                self._playing_seen = True
                self._mp.audio_set_volume(self._volume)
                self._emit(self.track_started, self._current)
        elif command == "ended":
            track = self._current
            if track is not None and not self._playing_seen:
                self._emit(self.track_failed, track, "libVLC could not decode it")
            elif track is not None:
                self._emit(self.track_finished, track)
            self._advance()
        elif command == "error":
            if self._current is not None:
                self._emit(self.track_failed, self._current, "libVLC reported an error playing it")
            self._advance()
        elif command == "stop":
            self._mp.stop()
            self._state = "stopped"
            arg.set()

    def _advance(self) -> None:
        while True:
            with self._lock:
                track = self._upcoming.pop(0) if self._upcoming else None
            if track is None:
                self._mp.stop()
                self._current = None
                self._state = "idle"
                self._emit(self.queue_empty)
                return
            media = self._instance.media_new_path(track.path)
            problem = _unplayable(media, track.path)
            if problem is None:
                break
            media.release()
            self._emit(self.track_failed, track, problem)
        self._generation += 1
        self._mp.set_media(media)
        media.release()
        self._current = track
        self._playing_seen = False
        self._started_at = time.monotonic()
        self._state = "playing"
        if self._mp.play() == -1:
            self._commands.put(("error", self._generation))

    def _emit(self, callback: Callable[..., None] | None, *args: Any) -> None:
        if callback is None:
            return
        if self._loop is not None:
            self._loop.call_soon_threadsafe(callback, *args)
        else:
            try:
                callback(*args)
            except Exception:
                log.exception("player listener failed")


def _unplayable(media: Any, path: str) -> str | None:
    """Why libVLC cannot play ``media`` (no file, no audio stream), or None. libVLC happily
    "plays" a corrupt file as silence, so the file is probed before it starts."""
    if not Path(path).is_file():
        return "file not found"
    media.parse()  # synchronous probe of the container: a few milliseconds
    tracks = media.tracks_get() or []
    if not any(t.type == vlc.TrackType.audio for t in tracks):
        return "no audio stream that libVLC can decode (corrupt or unsupported file)"
    return None
