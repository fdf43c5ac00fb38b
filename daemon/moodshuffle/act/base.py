"""The player interface: what the daemon asks of a player back-end and where a back-end reports.

A back-end (``VlcPlayer``: embedded libVLC; ``MpdPlayer``: an MPD or Mopidy server) is a
``CoreListener``: it plays what the controller asks (``PlayRequested``), pauses, resumes and
sets the volume, and reports what happened to each track to ``PlayerReports`` (the controller).
``backend.open_player`` picks one by ``player.backend``; this module imports neither.
"""

from __future__ import annotations

import abc
from typing import Protocol

from moodshuffle.core import CoreListener, PlayerAction


class PlayerReports(Protocol):
    """Where a player reports (the controller)."""

    def track_started(self, track_id: int) -> None: ...
    def track_finished(self, track_id: int, played_s: float | None = None) -> None: ...
    def track_stopped(self, track_id: int, position_s: float) -> None: ...
    def track_failed(self, track_id: int, reason: str) -> None: ...
    #: a server played by other clients (MPD): it moved by itself to the track at ``path``
    def track_changed(self, path: str, position_s: float) -> None: ...
    def player_command(self, action: PlayerAction) -> None: ...
    def set_volume(self, volume: int) -> None: ...
    #: the back-end cannot play (reason), or can again (None)
    def stage_failed(self, stage: str, reason: str | None) -> None: ...


class Player(CoreListener, abc.ABC):
    """A player back-end; reports arrive on the event loop given to it (or its own thread)."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop playback for shutdown (blocks a second or two at most)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the back-end; the player cannot be used afterwards."""
