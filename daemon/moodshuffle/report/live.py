"""The live view (``run --live``, the demo): on every reorder, the mood, the track playing and
the next three tracks with why they were chosen. A listener of the controller."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from moodshuffle.core import CoreListener, QueueReordered
from moodshuffle.domain.tracks import UpcomingTrack

SHOWN = 3


def _why(u: UpcomingTrack) -> str:
    return ", ".join(f"{k} {v:+.2f}" for k, v in u.parts.as_dict().items())


def render(event: QueueReordered) -> str:
    """The lines shown for one reorder."""
    m = event.mood
    lines = [f"[{event.reason}] mood {m.label} (confidence {m.confidence:.2f}, valence {m.valence:+.2f}, "
             f"arousal {m.arousal:+.2f}, faces {m.faces}) policy {event.policy}",
             f"  now playing: {event.current.name if event.current is not None else '-'}"]
    for u in event.upcoming[:SHOWN]:
        lines.append(f"  next: {u.track.name:<40} track v{u.va[0]:+.2f} a{u.va[1]:+.2f}  {_why(u)}")
    return "\n".join(lines)


class LiveView(CoreListener):
    """Prints ``render`` of each reorder, time-stamped, through ``write``."""

    def __init__(self, write: Callable[[str], None] = print) -> None:
        self._write = write

    def queue_reordered(self, event: QueueReordered) -> None:
        self._write(f"{datetime.now():%H:%M:%S}  {render(event)}")
