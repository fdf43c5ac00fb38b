"""systemd's notify protocol (READY, STATUS, WATCHDOG, STOPPING) in a few lines, no dependency.

Does nothing when the daemon does not run under systemd (``NOTIFY_SOCKET`` unset). As a
listener of the controller it keeps ``systemctl status`` showing the mood and the track.
"""

from __future__ import annotations

import contextlib
import os
import socket

from moodshuffle.core import CoreListener, StateChanged


class SystemdNotifier(CoreListener):
    """Sends datagrams to ``$NOTIFY_SOCKET``; every method is a no-op outside systemd."""

    def __init__(self) -> None:
        self._status = ""
        address = os.environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self._address = address or None
        self._sock: socket.socket | None = None
        if self._address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        enabled = usec is not None and (pid is None or pid == str(os.getpid()))
        #: half the watchdog period in seconds (how often to ping), or None without a watchdog
        self.watchdog_interval_s: float | None = int(usec) / 2e6 if enabled and usec else None

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def send(self, message: str) -> None:
        if self._sock is None or self._address is None:
            return
        # systemd gone or socket full: nothing useful to do
        with contextlib.suppress(OSError):
            self._sock.sendto(message.encode(), self._address)

    def ready(self, status: str = "") -> None:
        self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def state_changed(self, event: StateChanged) -> None:
        state = event.state
        track = state.player.track
        status = f"mood {state.mood.label}, {state.player.state}" + (f": {track.name}" if track is not None else "")
        if status != self._status:
            self._status = status
            self.status(status)
