"""Listeners of the controller, in the way of Mopidy's ``CoreListener``: one documented no-op
method per event; an adapter subclasses ``CoreListener`` and overrides what it needs. The
controller never imports an adapter."""

from __future__ import annotations

from typing import assert_never

from moodshuffle.core.events import (
    Event,
    FeedbackGiven,
    MoodChanged,
    PauseRequested,
    PlayEnded,
    PlayRequested,
    QueueReordered,
    RescanRequested,
    SensorSwitched,
    StageFailed,
    StateChanged,
    TrackFailed,
    TrackStarted,
    VolumeChanged,
)


class CoreListener:
    """Called on the controller's thread (the event loop); a method must not block."""

    def state_changed(self, event: StateChanged) -> None:
        """A new state to show (MQTT's retained state)."""

    def mood_changed(self, event: MoodChanged) -> None:
        """The mood label changed."""

    def queue_reordered(self, event: QueueReordered) -> None:
        """The upcoming tracks were chosen again."""

    def track_started(self, event: TrackStarted) -> None:
        """A track became audible."""

    def play_ended(self, event: PlayEnded) -> None:
        """A play ended (completed, skipped, stopped or failed): the listening history."""

    def feedback_given(self, event: FeedbackGiven) -> None:
        """The listener liked or disliked a track: the listening history."""

    def track_failed(self, event: TrackFailed) -> None:
        """A track cannot be played and left the table."""

    def play_requested(self, event: PlayRequested) -> None:
        """Play this track now (the player)."""

    def pause_requested(self, event: PauseRequested) -> None:
        """Pause or resume (the player)."""

    def volume_changed(self, event: VolumeChanged) -> None:
        """Set the volume (the player)."""

    def sensor_switched(self, event: SensorSwitched) -> None:
        """Switch the camera or the microphone on or off (the sensing stages)."""

    def rescan_requested(self, event: RescanRequested) -> None:
        """Scan the library now (the library stage)."""

    def stage_failed(self, event: StageFailed) -> None:
        """A stage failed and will be retried (MQTT's ``error`` event)."""


def deliver(listener: CoreListener, event: Event) -> None:
    """Call the method of ``listener`` that handles ``event``."""
    match event:
        case StateChanged():
            listener.state_changed(event)
        case MoodChanged():
            listener.mood_changed(event)
        case QueueReordered():
            listener.queue_reordered(event)
        case TrackStarted():
            listener.track_started(event)
        case PlayEnded():
            listener.play_ended(event)
        case FeedbackGiven():
            listener.feedback_given(event)
        case TrackFailed():
            listener.track_failed(event)
        case PlayRequested():
            listener.play_requested(event)
        case PauseRequested():
            listener.pause_requested(event)
        case VolumeChanged():
            listener.volume_changed(event)
        case SensorSwitched():
            listener.sensor_switched(event)
        case RescanRequested():
            listener.rescan_requested(event)
        case StageFailed():
            listener.stage_failed(event)
        case _:
            assert_never(event)
