"""The VLC player (adapter: python-vlc), the default ``Player`` back-end (``act/base.py``).

It plays what it is asked to (``PlayRequested``), pauses, resumes and sets the volume, and
reports back what happened to each track: started (audible), finished, stopped (replaced by
another after some seconds) or failed. It keeps no queue: the controller owns the one
upcoming list and asks for the next track when a report says this one is over.

Threads: every libVLC call happens in one worker thread fed by a command queue. libVLC's
event callbacks only put events on that queue (calling libVLC from inside its own callbacks
deadlocks). Reports are delivered on the asyncio loop given to the constructor
(``call_soon_threadsafe``), or in the worker thread without one.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import vlc

from moodshuffle.act.audio_output import audio_output_problem, vlc_instance
from moodshuffle.act.base import Player, PlayerReports
from moodshuffle.config import PlayerConfig
from moodshuffle.core import PauseRequested, PlaybackState, PlayRequested, VolumeChanged
from moodshuffle.domain.tracks import Track

log = logging.getLogger("moodshuffle.player")


@dataclass(frozen=True)
class _Play:
    track: Track


@dataclass(frozen=True)
class _Halt:
    """Stop and go idle (nothing to play)."""


@dataclass(frozen=True)
class _Pause:
    paused: bool


@dataclass(frozen=True)
class _Volume:
    volume: int


@dataclass(frozen=True)
class _Stop:
    """Stop for shutdown; ``done`` is set once libVLC has stopped."""

    done: threading.Event


@dataclass(frozen=True)
class _Quit:
    pass


class _Media(StrEnum):
    """libVLC's reports about the media playing."""

    PLAYING = "playing"
    ENDED = "ended"
    ERROR = "error"


@dataclass(frozen=True)
class _MediaEvent:
    """A libVLC report about the media of ``generation``."""

    kind: _Media
    generation: int


#: what the worker thread is asked to do
_Command = _Play | _Halt | _Pause | _Volume | _Stop | _Quit | _MediaEvent


class VlcPlayer(Player):
    """Plays one Track at a time with libVLC. ``state``: playing, paused, stopped or idle."""

    def __init__(self, cfg: PlayerConfig, reports: PlayerReports,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self._reports = reports
        self._instance = vlc_instance(["--no-video", "--no-xlib", *cfg.vlc_args])
        self._vlc_args = cfg.vlc_args
        #: why the audio output cannot be heard (reported once), or None
        self._no_output: str | None = None
        self._mp = self._instance.media_player_new()
        self._commands: queue.Queue[_Command] = queue.Queue()
        self._current: Track | None = None
        self._started_at = 0.0
        self._paused_at = 0.0
        self._playing_seen = False
        self._state = PlaybackState.IDLE
        self._volume = cfg.volume
        events = self._mp.event_manager()
        # Each event carries the generation of the media it belongs to, so a late event of a
        # track we already left cannot end the next one.
        self._generation = 0
        for kind, media in (("MediaPlayerEndReached", _Media.ENDED), ("MediaPlayerEncounteredError", _Media.ERROR),
                            ("MediaPlayerPlaying", _Media.PLAYING)):
            events.event_attach(getattr(vlc.EventType, kind),
                                lambda e, media=media: self._commands.put(_MediaEvent(media, self._generation)))
        self._worker = threading.Thread(target=self._run, name="vlc-player", daemon=True)
        self._worker.start()

    # ----------------------------------------------------------------- CoreListener
    def play_requested(self, event: PlayRequested) -> None:
        if event.track is None:
            self._commands.put(_Halt())
        else:
            self.play(event.track)

    def pause_requested(self, event: PauseRequested) -> None:
        self._commands.put(_Pause(event.paused))

    def volume_changed(self, event: VolumeChanged) -> None:
        self.set_volume(event.volume)

    # ----------------------------------------------------------------- public API (any thread)
    @property
    def state(self) -> PlaybackState:
        return self._state

    @property
    def current(self) -> Track | None:
        return self._current

    @property
    def volume(self) -> int:
        return self._volume

    @property
    def position_s(self) -> float:
        ms = self._mp.get_time()
        return max(0.0, ms / 1000.0) if ms is not None else 0.0

    def play(self, track: Track) -> None:
        """Play ``track`` now; a track playing is stopped (and reported stopped)."""
        self._commands.put(_Play(track))

    def set_volume(self, volume: int) -> None:
        """0..100."""
        self._volume = max(0, min(100, int(volume)))
        self._commands.put(_Volume(self._volume))

    def stop(self) -> None:
        """Stop playback (blocks until libVLC has stopped, at most a second or two)."""
        done = threading.Event()
        self._commands.put(_Stop(done))
        done.wait(timeout=3)

    def close(self) -> None:
        """Stop and release libVLC; the player cannot be used afterwards."""
        if self._worker.is_alive():
            self._commands.put(_Quit())
            self._worker.join(timeout=3)
        self._mp.release()
        self._instance.release()

    # ----------------------------------------------------------------- worker thread
    def _run(self) -> None:
        while True:
            command = self._commands.get()
            try:
                if isinstance(command, _Quit):
                    self._mp.stop()
                    return
                self._handle(command)
            except Exception:  # a bad event must not kill the player thread
                log.exception("player command %s failed", command)

    def _handle(self, command: _Command) -> None:
        track = self._current
        match command:
            case _Play(new):
                self._leave(track)
                self._start(new)
            case _Halt():
                self._leave(track)
                self._mp.stop()
                self._state = PlaybackState.IDLE
            case _Pause(True) if self._state == PlaybackState.PLAYING:
                self._mp.set_pause(1)
                self._state = PlaybackState.PAUSED
                self._paused_at = time.monotonic()
            case _Pause(False) if self._state == PlaybackState.PAUSED:
                self._mp.set_pause(0)
                self._state = PlaybackState.PLAYING
                self._started_at += time.monotonic() - self._paused_at  # time paused is not time played
            case _Volume():
                self._mp.audio_set_volume(self._volume)
            case _Stop(done):
                self._mp.stop()
                self._current = None
                self._state = PlaybackState.STOPPED
                done.set()
            case _MediaEvent(kind, generation) if generation == self._generation and track is not None:
                self._media_event(kind, track)

    def _media_event(self, kind: _Media, track: Track) -> None:
        if kind == _Media.PLAYING and not self._playing_seen:
            self._playing_seen = True
            self._mp.audio_set_volume(self._volume)
            self._report(self._reports.track_started, track.track_id)
        elif kind == _Media.ENDED:
            self._end()
            if self._playing_seen:
                # the seconds it played: a truncated file ends long before its tagged duration
                played = round(time.monotonic() - self._started_at, 1)
                self._report(self._reports.track_finished, track.track_id, played)
            else:
                self._report(self._reports.track_failed, track.track_id, "libVLC could not decode it")
        elif kind == _Media.ERROR:
            self._end()
            self._report(self._reports.track_failed, track.track_id, "libVLC reported an error playing it")

    def _leave(self, track: Track | None) -> None:
        """The current track is replaced: report how far it got."""
        if track is not None and self._playing_seen:
            self._report(self._reports.track_stopped, track.track_id, round(time.monotonic() - self._started_at, 1))
        self._current = None

    def _end(self) -> None:
        self._current = None
        self._state = PlaybackState.IDLE

    def _silent(self) -> bool:
        """The audio output does not exist: nothing is played (libVLC would "play" in silence and
        the taste learner would hear a completion as a like); reported once per new reason."""
        problem = audio_output_problem(self._vlc_args)
        if problem is not None and problem != self._no_output:
            log.error("%s: nothing is played until it exists", problem)
            self._report(self._reports.stage_failed, "player", problem)
        self._no_output = problem
        return problem is not None

    def _start(self, track: Track) -> None:
        if self._silent():
            self._mp.stop()
            self._state = PlaybackState.IDLE
            return
        media = self._instance.media_new_path(track.path)
        problem = _unplayable(media, track.path)
        if problem is not None:
            media.release()
            self._mp.stop()
            self._state = PlaybackState.IDLE
            self._report(self._reports.track_failed, track.track_id, problem)
            return
        self._generation += 1
        self._mp.set_media(media)
        media.release()
        self._current = track
        self._playing_seen = False
        self._started_at = time.monotonic()
        self._state = PlaybackState.PLAYING
        if self._mp.play() == -1:
            self._commands.put(_MediaEvent(_Media.ERROR, self._generation))

    def _report(self, method: Callable[..., None], *args: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(method, *args)
            return
        try:
            method(*args)
        except Exception:
            log.exception("player report failed")


#: a file that does not answer this fast (a hung network mount) is not played now
FILE_CHECK_S = 5.0


def _file_problem(path: str) -> str | None:
    """Why ``path`` cannot be read now, or None; never blocks the player for more than
    FILE_CHECK_S (the stat runs in a thread of its own, left behind on a hung mount)."""
    result: list[str | None] = []

    def check() -> None:
        try:
            result.append(None if Path(path).is_file() else "file not found")
        except OSError as exc:  # EIO, ENOTCONN, ESTALE: a NAS gone, a FUSE mount aborted
            result.append(f"the file cannot be read ({exc.strerror or exc}: its storage failed?)")

    worker = threading.Thread(target=check, name="player-stat", daemon=True)
    worker.start()
    worker.join(FILE_CHECK_S)
    if not result:
        return f"its folder does not answer within {FILE_CHECK_S:.0f} s (a hung mount?)"
    return result[0]


def _unplayable(media: vlc.Media, path: str) -> str | None:
    """Why libVLC cannot play ``media`` (no file, an unreadable or hung file, no audio stream),
    or None. libVLC happily "plays" a corrupt file as silence, so the file is probed before it
    starts; the probe has a deadline, like the file check."""
    problem = _file_problem(path)
    if problem is not None:
        return problem
    media.parse_with_options(vlc.MediaParseFlag.local, int(FILE_CHECK_S * 1000))
    deadline = time.monotonic() + FILE_CHECK_S + 1.0
    while media.get_parsed_status().value == 0 and time.monotonic() < deadline:  # 0: not parsed yet
        time.sleep(0.002)
    status = media.get_parsed_status().value
    if status in (0, vlc.MediaParsedStatus.timeout.value):
        return "libVLC could not read it in time (a hung mount?)"
    tracks = media.tracks_get() or []
    if not any(t.type == vlc.TrackType.audio for t in tracks):
        return "no audio stream that libVLC can decode (corrupt or unsupported file)"
    return None
