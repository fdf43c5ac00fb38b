"""The MQTT communicator (adapter: aiomqtt). No other module knows MQTT exists.

One client context per connection; reconnect in an outer loop with exponential back-off and
jitter; on every (re)connect: availability ``online`` (retained, with ``offline`` as the last
will), Home Assistant discovery (retained) and the latest state (retained). Publishing never
blocks or raises into callers: the latest state is kept and sent when connected (at most once a
second), events wait in a small bounded buffer. Invalid commands produce an ``error`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from typing import Any

import aiomqtt

from moodshuffle.config import MqttConfig
from moodshuffle.report.commands import COMMAND_TOPICS, CommandError, CommandHandler, dispatch, parse_command
from moodshuffle.report.payloads import base_topic, discovery_messages, encode

log = logging.getLogger("moodshuffle.mqtt")

STATE_MIN_INTERVAL_S = 1.0
EVENT_BUFFER = 50


def _client(cfg: MqttConfig, device_id: str, will: aiomqtt.Will | None = None, suffix: str = "") -> aiomqtt.Client:
    tls = None
    if cfg.tls:
        tls = aiomqtt.TLSParameters(ca_certs=cfg.ca_file, certfile=cfg.certfile, keyfile=cfg.keyfile)
    return aiomqtt.Client(
        cfg.host, cfg.port, username=cfg.username, password=cfg.resolved_password(),
        identifier=f"moodshuffle-{device_id}{suffix}", keepalive=cfg.keepalive_s, will=will, tls_params=tls,
        timeout=10,
    )


class MqttBridge:
    """Publishes state and events, turns command messages into CommandHandler calls."""

    def __init__(
        self,
        cfg: MqttConfig,
        device_id: str,
        handler: CommandHandler,
        backoff_first_s: float = 1.0,
        backoff_max_s: float = 60.0,
    ) -> None:
        self.cfg = cfg
        self.device_id = device_id
        self.handler = handler
        self.base = base_topic(cfg, device_id)
        self.connected = False
        self._backoff = (backoff_first_s, backoff_max_s)
        self._state: str | None = None
        self._state_pending = False
        self._events: deque[str] = deque(maxlen=EVENT_BUFFER)
        self._wake: asyncio.Event | None = None

    # ----------------------------------------------------------------- non-blocking API
    def publish_state(self, state: dict[str, Any]) -> None:
        """Keep ``state`` as the retained state; sent when connected, at most once a second."""
        self._state = encode(state)
        self._state_pending = True
        if self._wake is not None:
            self._wake.set()

    def publish_event(self, event: dict[str, Any]) -> None:
        """Queue an event (``{"type": ...}``); the oldest are dropped beyond a small buffer."""
        self._events.append(encode(event))
        if self._wake is not None:
            self._wake.set()

    # ----------------------------------------------------------------- connection loop
    async def run(self) -> None:
        """Connect, serve, reconnect with back-off, until cancelled (then publish ``offline``)."""
        self._wake = asyncio.Event()
        availability = f"{self.base}/availability"
        attempt = 0
        while True:
            will = aiomqtt.Will(availability, "offline", qos=1, retain=True)
            try:
                async with _client(self.cfg, self.device_id, will) as client:
                    attempt = 0
                    self.connected = True
                    log.info("connected to MQTT broker %s:%d", self.cfg.host, self.cfg.port)
                    try:
                        await self._serve(client, availability)
                    except asyncio.CancelledError:
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(client.publish(availability, "offline", qos=1, retain=True), 2)
                        raise
            except aiomqtt.MqttError as exc:
                was = self.connected
                self.connected = False
                first, cap = self._backoff
                delay = min(cap, first * 2**attempt) * random.uniform(0.8, 1.2)
                attempt += 1
                log.log(logging.WARNING if was or attempt == 1 else logging.DEBUG,
                        "MQTT broker %s:%d unavailable (%s); retrying in %.1f s", self.cfg.host, self.cfg.port, exc,
                        delay)
                await asyncio.sleep(delay)
            finally:
                self.connected = False

    async def _serve(self, client: aiomqtt.Client, availability: str) -> None:
        await client.publish(availability, "online", qos=1, retain=True)
        await self._publish_discovery(client)
        for suffix in COMMAND_TOPICS:
            await client.subscribe(f"{self.base}/{suffix}", qos=1)
        if self.cfg.discovery:
            await client.subscribe(f"{self.cfg.discovery_prefix}/status", qos=1)
        self._state_pending = self._state is not None
        listener = asyncio.create_task(self._listen(client))
        try:
            await self._publish_loop(client, listener)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await listener

    async def _publish_loop(self, client: aiomqtt.Client, listener: asyncio.Task[None]) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        last_state = -STATE_MIN_INTERVAL_S
        while True:
            if listener.done():
                listener.result()  # re-raise the listener's MqttError: reconnect
                raise aiomqtt.MqttError("message stream ended")
            while self._events:
                await client.publish(f"{self.base}/event", self._events[0], qos=0)
                self._events.popleft()
            if self._state_pending and self._state is not None:
                wait = last_state + STATE_MIN_INTERVAL_S - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._state_pending = False
                last_state = loop.time()
                await client.publish(f"{self.base}/state", self._state, qos=1, retain=True)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)

    async def _publish_discovery(self, client: aiomqtt.Client) -> None:
        if not self.cfg.discovery:
            return
        for topic, payload in discovery_messages(self.cfg, self.device_id):
            await client.publish(topic, payload, qos=1, retain=True)

    async def _listen(self, client: aiomqtt.Client) -> None:
        status_topic = f"{self.cfg.discovery_prefix}/status"
        async for message in client.messages:
            topic = str(message.topic)
            payload = message.payload
            raw = bytes(payload) if isinstance(payload, (bytes, bytearray)) else str(payload or "").encode()
            if topic == status_topic:
                if raw.strip() == b"online":
                    log.info("Home Assistant is online: republishing discovery")
                    await self._publish_discovery(client)
                    self._state_pending = self._state is not None
                    if self._wake is not None:
                        self._wake.set()
                continue
            suffix = topic[len(self.base) + 1 :]
            try:
                dispatch(parse_command(suffix, raw), self.handler)
            except CommandError as exc:
                log.warning("rejected %s: %s", topic, exc)
                self.publish_event({"type": "error", "topic": topic, "reason": str(exc)})
            except Exception as exc:  # a command must never take the daemon down
                log.exception("command on %s failed", topic)
                self.publish_event({"type": "error", "topic": topic, "reason": f"internal error: {exc}"})


async def remove_discovery(cfg: MqttConfig, device_id: str) -> None:
    """Remove the Home Assistant entries: an empty retained payload on each discovery topic."""
    async with _client(cfg, device_id, suffix="-cleanup") as client:
        for topic, _ in discovery_messages(cfg, device_id):
            await client.publish(topic, b"", qos=1, retain=True)
    log.info("removed %d Home Assistant discovery entries", len(discovery_messages(cfg, device_id)))
