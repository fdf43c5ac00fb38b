"""Publishes the broker refuses. A broker whose ACL does not let the daemon write its topics
accepts the connection and answers each QoS 1 publish with an MQTT 5 PUBACK carrying a failure
reason code (Mosquitto: 135, Not authorized); aiomqtt drops that code, so the daemon once
published nothing for hours while saying nothing. This module hands it on."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiomqtt

from moodshuffle.config import MqttConfig

log = logging.getLogger("moodshuffle.mqtt")


def watch_refusals(client: aiomqtt.Client, on_refused: Callable[[str], None]) -> None:
    """Call ``on_refused(reason)`` (on the event loop) for every publish of ``client`` that the
    broker acknowledges with a failure reason code. Call it before the first publish."""
    paho = client._client  # aiomqtt has no public hook for the PUBACK's reason code
    original = paho.on_publish

    def on_publish(c: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:  # noqa: ANN401
        if getattr(reason_code, "is_failure", False):
            on_refused(f"{reason_code} (reason code {reason_code.value})")
        if original is not None:
            original(c, userdata, mid, reason_code, properties)  # type: ignore[call-arg]

    paho.on_publish = on_publish


class Refusals:
    """The bridge's refused publishes: ``reason`` the latest on this connection (None: none),
    ``count`` since the daemon started; warned once a connection, with the fix."""

    def __init__(self, cfg: MqttConfig, base: str, on_change: Callable[[str | None], None] | None = None) -> None:
        self.cfg = cfg
        self.base = base
        #: told the reason at the first refusal of a connection, None at a new connection
        self._on_change = on_change
        self.reason: str | None = None
        self.count = 0

    def watch(self, client: aiomqtt.Client) -> None:
        """A new connection: nothing refused on it yet."""
        if self.reason is not None and self._on_change is not None:
            self._on_change(None)
        self.reason = None
        watch_refusals(client, self._refused)

    def _refused(self, reason: str) -> None:
        if self.reason is None:
            log.warning("the broker %s:%d refuses what this daemon publishes: %s; Home Assistant sees nothing "
                        "-- fix: the broker's acl_file must let %s write %s/#", self.cfg.host, self.cfg.port,
                        reason, self.cfg.username or "anonymous clients", self.base)
            if self._on_change is not None:
                self._on_change(f"the broker refuses this daemon's publishes: {reason}")
        self.reason = reason
        self.count += 1
