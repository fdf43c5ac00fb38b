"""The middle of the daemon: a pure, synchronous controller behind typed events.

    observations, ticks, player reports, commands, tables  ->  Controller  ->  State + events
                                                                              -> CoreListeners

``Controller`` (controller.py) is the one input API; it routes each input to a small pure part:
the mood (mood.py), the queue and playback (queue.py), listening and taste (listening.py) and
the library view (library.py). ``State`` and the enums are in state.py, the events in events.py,
the listener interface in listener.py. Adapters (the VLC player, the MQTT bridge, the live view, systemd,
the sensing and library stages) subclass ``CoreListener``; the controller imports none of them.
"""

from moodshuffle.core.controller import Controller
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
from moodshuffle.core.listener import CoreListener, deliver
from moodshuffle.core.state import (
    LibraryState,
    MoodSource,
    PlaybackState,
    PlayerAction,
    PlayerState,
    ReorderReason,
    Sensor,
    StageStatus,
    State,
    VoiceState,
    worth_publishing,
)

__all__ = [
    "Controller", "CoreListener", "Event", "FeedbackGiven", "LibraryState", "MoodChanged",
    "MoodSource", "PauseRequested", "PlayEnded", "PlayRequested", "PlaybackState", "PlayerAction", "PlayerState",
    "QueueReordered", "ReorderReason", "RescanRequested", "Sensor", "SensorSwitched", "StageFailed", "StageStatus",
    "State", "StateChanged", "TrackFailed", "TrackStarted", "VoiceState", "VolumeChanged", "deliver",
    "worth_publishing",
]
