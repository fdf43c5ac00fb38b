"""The MQTT communicator (adapter: aiomqtt), a listener of the controller. No other module
knows MQTT exists: this one publishes the controller's state and events (as ``payloads``
shapes them) and turns command messages into controller calls (``commands.COMMANDS``).

One client context per connection; reconnect in an outer loop with exponential back-off and
jitter; on every (re)connect: availability ``online`` (retained, with ``offline`` as the last
will), Home Assistant discovery (retained) and the latest state (retained). Publishing never
blocks or raises into callers: the latest state is kept and sent when connected (at most once a
second), events wait in a small bounded buffer. Invalid commands produce an ``error`` event.

A command is an instruction for now, never a stored state: a retained message on a command
topic (delivered at every subscribe) is ignored. MQTT 5 is spoken so that the client can tell
the broker the largest packet it takes (``MAX_PACKET_BYTES``): a 20 MB command is dropped by
the broker, never read into memory here.

Two speakers with the same ``device_id``: each process connects under a client id of its own
(so neither knocks the other off the broker) and announces a random instance id on
``<base>/instance``; hearing another live instance there is warned about once, with the fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections import deque
from datetime import UTC, datetime

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from moodshuffle.config import MqttConfig
from moodshuffle.core import (
    CoreListener,
    FeedbackGiven,
    MoodChanged,
    QueueReordered,
    StageFailed,
    StateChanged,
    TrackFailed,
    TrackStarted,
)
from moodshuffle.logs import printable
from moodshuffle.report import payloads
from moodshuffle.report.commands import COMMANDS, CommandError, Controls, run_command
from moodshuffle.report.inbox import inbox_type
from moodshuffle.report.payloads import JsonObject, base_topic, discovery_messages, encode
from moodshuffle.report.refusals import Refusals
from moodshuffle.supervise import Backoff

log = logging.getLogger("moodshuffle.mqtt")

STATE_MIN_INTERVAL_S = 1.0
EVENT_BUFFER = 50
#: after discovery, events wait this long: Home Assistant has subscribed to the new entities by then
DISCOVERY_SETTLE_S = 1.0
#: the largest MQTT packet the broker may send us; commands are at most a few hundred bytes
#: (``commands.MAX_PAYLOAD``) and Home Assistant's status a word, so 64 KiB leaves room
MAX_PACKET_BYTES = 64 * 1024
#: a connection that lasted less than this did not prove the broker healthy: the back-off goes on
#: growing (a broker that drops us right after connecting is not hammered every second)
HEALTHY_CONNECTION_S = 30.0
INSTANCE_TOPIC = "instance"


def instance_id() -> str:
    """This process's id among speakers sharing a device_id: host-independent, unique per start."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def _client(cfg: MqttConfig, device_id: str, will: aiomqtt.Will | None = None, suffix: str = "",
            queue_type: type[asyncio.Queue[aiomqtt.Message]] | None = None) -> aiomqtt.Client:
    """A client as the daemon logs in. ``suffix`` makes the client id unique (per process for the
    daemon): the broker disconnects an older client when a new one takes its id."""
    tls = None
    if cfg.tls:
        tls = aiomqtt.TLSParameters(ca_certs=cfg.ca_file, certfile=cfg.certfile, keyfile=cfg.keyfile)
    # paho-mqtt leaves Properties.__init__ unannotated (third-party; nothing to type on our side)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.MaximumPacketSize = MAX_PACKET_BYTES
    return aiomqtt.Client(
        cfg.host, cfg.port, username=cfg.username, password=cfg.resolved_password(),
        identifier=f"moodshuffle-{device_id}{suffix}", keepalive=cfg.keepalive_s, will=will, tls_params=tls,
        timeout=10, protocol=aiomqtt.ProtocolVersion.V5, properties=properties, queue_type=queue_type,
    )


class MqttBridge(CoreListener):
    """Publishes the controller's state and events, turns command messages into ``controls``
    calls (the controller)."""

    def __init__(
        self,
        cfg: MqttConfig,
        device_id: str,
        controls: Controls,
        backoff_first_s: float = 1.0,
        backoff_max_s: float = 60.0,
    ) -> None:
        self.cfg = cfg
        self.device_id = device_id
        self.controls = controls
        self.base = base_topic(cfg, device_id)
        self.connected = False
        self.refusals = Refusals(cfg, self.base, lambda reason: controls.stage_failed("mqtt", reason))
        self._backoff = Backoff(backoff_first_s, backoff_max_s, jitter=0.2)
        self._state: str | None = None
        self._state_pending = False
        #: (topic suffix under <base>/, JSON)
        self._events: deque[tuple[str, str]] = deque(maxlen=EVENT_BUFFER)
        #: incoming messages bounded in number and rate per topic; rejections counted per topic (a
        #: burst of bad commands is one error event per topic, so none is crowded out of the buffer)
        self._queue_type, self._inbox = inbox_type(self._poke)
        #: when discovery was last published (the event loop's clock): events wait DISCOVERY_SETTLE_S
        self._discovered_at = -DISCOVERY_SETTLE_S
        self._wake: asyncio.Event | None = None
        self.instance = instance_id()
        self.other_instance: str | None = None
        self._retained_warned: set[str] = set()

    # ----------------------------------------------------------------- CoreListener (never blocks)
    def state_changed(self, event: StateChanged) -> None:
        """Keep the state as the retained state; sent when connected, at most once a second."""
        self._state = encode(payloads.state_payload(event.state, datetime.now(UTC), time.monotonic()))
        self._state_pending = True
        self._poke()

    def mood_changed(self, event: MoodChanged) -> None:
        self._publish_event(payloads.mood_changed_payload(event))
        self._publish_event(payloads.mood_event_payload(event), payloads.MOOD_EVENT_TOPIC)

    def queue_reordered(self, event: QueueReordered) -> None:
        self._publish_event(payloads.queue_reordered_payload(event))

    def track_started(self, event: TrackStarted) -> None:
        self._publish_event(payloads.track_started_payload(event))
        self._publish_event(payloads.track_event_payload(event), payloads.TRACK_EVENT_TOPIC)

    def feedback_given(self, event: FeedbackGiven) -> None:
        self._publish_event(payloads.feedback_payload(event))

    def track_failed(self, event: TrackFailed) -> None:
        self._publish_event(payloads.track_failed_payload(event))

    def stage_failed(self, event: StageFailed) -> None:
        self._publish_event(payloads.stage_failed_payload(event))

    def _publish_event(self, event: JsonObject, topic: str = "event") -> None:
        """Queue an event for ``<base>/<topic>``; the oldest are dropped beyond a small buffer."""
        self._events.append((topic, encode(event)))
        self._poke()

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    # ----------------------------------------------------------------- connection loop
    async def run(self) -> None:
        """Connect, serve, reconnect with back-off, until cancelled (then publish ``offline``)."""
        self._wake = asyncio.Event()
        availability = f"{self.base}/availability"
        loop = asyncio.get_running_loop()
        connected_at = None
        while True:
            will = aiomqtt.Will(availability, "offline", qos=1, retain=True)
            try:
                async with _client(self.cfg, self.device_id, will, f"-{self.instance}", self._queue_type) as client:
                    connected_at = loop.time()
                    self.connected = True
                    self.refusals.watch(client)
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
                if connected_at is not None and loop.time() - connected_at >= HEALTHY_CONNECTION_S:
                    self._backoff.reset()
                connected_at = None
                delay = self._backoff.next_delay()
                log.log(logging.WARNING if was or self._backoff.failures == 1 else logging.DEBUG,
                        "MQTT broker %s:%d unavailable (%s); retrying in %.1f s", self.cfg.host, self.cfg.port, exc,
                        delay)
                await asyncio.sleep(delay)
            finally:
                self.connected = False

    async def _serve(self, client: aiomqtt.Client, availability: str) -> None:
        # subscribed before `online`: a command sent as soon as the speaker shows online is heard
        for suffix in COMMANDS:
            await client.subscribe(f"{self.base}/{suffix}", qos=1)
        published = self._state
        if published is not None:
            # the state before `online`: a dashboard never shows the previous process's retained
            # state (its volume, its track) as this one's
            await client.publish(f"{self.base}/state", published, qos=1, retain=True)
        await client.publish(availability, "online", qos=1, retain=True)
        await self._publish_discovery(client)
        # subscribed before announcing: a speaker that announces after us is heard live
        await client.subscribe(f"{self.base}/{INSTANCE_TOPIC}", qos=1)
        await client.publish(f"{self.base}/{INSTANCE_TOPIC}", self.instance, qos=1, retain=True)
        if self.cfg.discovery:
            await client.subscribe(f"{self.cfg.discovery_prefix}/status", qos=1)
        # published above; only a state that came while connecting is still to go
        self._state_pending = self._state is not None and self._state != published
        listener = asyncio.create_task(self._listen(client))
        try:
            await self._publish_loop(client, listener)
        finally:
            # cancelled until it ends: a cancel that meets a PUBACK (the listener republishing
            # discovery) is swallowed by Python 3.11's asyncio.wait_for inside aiomqtt's publish,
            # and the listener went back to waiting for messages; awaited once, it hung the stop
            # before `offline` was published
            while not listener.done():
                listener.cancel()
                await asyncio.wait({listener}, timeout=0.5)
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await listener

    async def _publish_loop(self, client: aiomqtt.Client, listener: asyncio.Task[None]) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        last_state = -STATE_MIN_INTERVAL_S
        task = asyncio.current_task()
        while True:
            if task is not None and task.cancelling():
                # Python 3.11's asyncio.wait_for (here and inside aiomqtt) can swallow a cancel
                # that arrives as the awaited future completes; the bridge must still stop (it
                # hung shutdown in about one test run in five under load)
                raise asyncio.CancelledError
            if listener.done():
                listener.result()  # re-raise the listener's MqttError: reconnect
                raise aiomqtt.MqttError("message stream ended")
            self._flush_rejected()
            settle = self._discovered_at + DISCOVERY_SETTLE_S - loop.time()
            if self._events and settle > 0:
                # Home Assistant subscribes to an entity's topic when its discovery arrives: an event
                # sent in the same instant (the first track_started) would reach nobody
                await asyncio.sleep(settle)
            while self._events:
                topic, event = self._events[0]
                await client.publish(f"{self.base}/{topic}", event, qos=0)
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
        self._discovered_at = asyncio.get_running_loop().time()

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
            if suffix == INSTANCE_TOPIC:
                # anyone may publish there: keep what goes into the log short and printable
                other = printable(raw[:64].decode("utf-8", "replace").strip())
                await self._heard_instance(client, other, message.retain)
                continue
            if message.retain:
                self._ignore_retained(topic)
                continue
            try:
                run_command(suffix, raw, self.controls)
            except CommandError as exc:
                self._reject(topic, str(exc))
            except Exception as exc:  # a command must never take the daemon down
                log.exception("command on %s failed", topic)
                self._reject(topic, f"internal error: {exc}")

    def _reject(self, topic: str, reason: str) -> None:
        """A command on ``topic`` was rejected: logged (the first since a report), counted, published."""
        if self._inbox.reject(topic, reason):
            log.warning("rejected %s: %s", topic, reason)
        self._poke()

    def _flush_rejected(self) -> None:
        for topic, reason, count in self._inbox.report(asyncio.get_running_loop().time()):
            if count > 1:
                log.warning("rejected %d commands on %s (the latest: %s)", count, topic, reason)
            self._publish_event(payloads.command_error_payload(topic, reason, count))

    def _ignore_retained(self, topic: str) -> None:
        """A retained command was stored once and is replayed at every (re)connect: obeying it
        would undo whatever was commanded since."""
        if topic in self._retained_warned:
            return
        self._retained_warned.add(topic)
        log.warning("ignoring a retained message on %s: commands are never retained (clear it with "
                    "mosquitto_pub -r -n -t '%s')", topic, topic)

    async def _heard_instance(self, client: aiomqtt.Client, other: str, retained: bool) -> None:
        """Another process announced itself under our device_id. A retained announcement may be
        a previous run of this speaker (it left it behind); a live one is a second speaker."""
        if retained or other == self.instance or not other:
            return
        first = self.other_instance is None
        self.other_instance = other
        if not first:
            return
        log.warning("another moodshuffle (instance %s) uses device_id %r on this broker: both speakers "
                    "publish to %s and obey the same commands -- fix: give each speaker its own device_id "
                    "in its config", other, self.device_id, self.base)
        self._publish_event(payloads.duplicate_device_payload(self.device_id, other))
        # answered once, live, so that the newcomer learns of us too; never again (no ping-pong)
        await client.publish(f"{self.base}/{INSTANCE_TOPIC}", self.instance, qos=1, retain=False)


async def remove_discovery(cfg: MqttConfig, device_id: str) -> None:
    """Remove the Home Assistant entries: an empty retained payload on each discovery topic."""
    async with _client(cfg, device_id, suffix="-cleanup") as client:
        for topic, _ in discovery_messages(cfg, device_id):
            await client.publish(topic, b"", qos=1, retain=True)
    log.info("removed %d Home Assistant discovery entries", len(discovery_messages(cfg, device_id)))
