"""The MQTT contract against a real Mosquitto on a free loopback port."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import textwrap

import aiomqtt
import pytest

from moodshuffle.config import MqttConfig
from moodshuffle.report.commands import CommandError, parse_command
from moodshuffle.report.mqtt import MqttBridge, remove_discovery
from tests.broker import Broker, free_port, make_tls

BASE = "moodshuffle/testbox"


class RecordingHandler:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def set_policy(self, policy: str) -> None:
        self.calls.append(("policy", policy))

    def set_camera(self, on: bool) -> None:
        self.calls.append(("camera", on))

    def set_microphone(self, on: bool) -> None:
        self.calls.append(("microphone", on))

    def player_command(self, cmd: str) -> None:
        self.calls.append(("player", cmd))

    def set_volume(self, volume: int) -> None:
        self.calls.append(("volume", volume))

    def rescan(self) -> None:
        self.calls.append(("rescan",))


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path, free_port(), "speaker", "s3cret").start()
    yield b
    b.stop()


def config(b: Broker, **kw) -> MqttConfig:
    return MqttConfig(host="127.0.0.1", port=b.port, username=b.username, password=b.password, **kw)


class Observer:
    """A second MQTT client that collects messages by topic."""

    def __init__(self, b: Broker, tls: bool = False) -> None:
        self.b = b
        self.messages: list[tuple[str, bytes, bool]] = []
        self.tls = tls

    def client(self) -> aiomqtt.Client:
        return aiomqtt.Client("127.0.0.1", self.b.port, username=self.b.username, password=self.b.password,
                              tls_context=self.b.client_tls_context() if self.tls else None)

    async def collect(self, client: aiomqtt.Client) -> None:
        async for m in client.messages:
            self.messages.append((str(m.topic), bytes(m.payload), m.retain))

    async def wait_for(self, pred, timeout: float = 10.0):
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for m in self.messages:
                if pred(m):
                    return m
            await asyncio.sleep(0.05)
        raise AssertionError(f"no matching message; got {[(t, p[:60]) for t, p, _ in self.messages]}")


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_parse_command_rejects_what_is_not_valid():
    assert parse_command("volume/set", b"42").value == 42
    assert parse_command("camera/set", b"off").value is False
    for suffix, payload in [("volume/set", b"101"), ("volume/set", b"loud"), ("policy/set", b"party"),
                            ("camera/set", b"\xff\xfe"), ("player/set", b"x" * 300), ("nope/set", b"1")]:
        with pytest.raises(CommandError):
            parse_command(suffix, payload)


def test_online_discovery_state_commands_and_errors(broker):
    async def scenario():
        handler = RecordingHandler()
        bridge = MqttBridge(config(broker), "testbox", handler)
        bridge.publish_state({"mood": "happy", "policy": "match"})
        task = asyncio.create_task(bridge.run())
        obs = Observer(broker)
        async with obs.client() as client:
            await client.subscribe("#")
            collector = asyncio.create_task(obs.collect(client))
            await obs.wait_for(lambda m: m[0] == f"{BASE}/availability" and m[1] == b"online")
            state = await obs.wait_for(lambda m: m[0] == f"{BASE}/state")
            assert json.loads(state[1])["mood"] == "happy"
            disc = await obs.wait_for(lambda m: m[0] == "homeassistant/select/testbox/policy/config")
            payload = json.loads(disc[1])
            assert payload["availability_topic"] == f"{BASE}/availability"
            assert payload["device"]["identifiers"] == ["moodshuffle_testbox"]
            assert payload["options"] == ["match", "uplift", "calm", "off"]
            for entity in ("sensor/testbox/mood", "sensor/testbox/valence", "sensor/testbox/arousal",
                           "sensor/testbox/confidence", "switch/testbox/camera", "switch/testbox/microphone",
                           "button/testbox/next_track", "sensor/testbox/now_playing", "number/testbox/volume"):
                await obs.wait_for(lambda m, e=entity: m[0] == f"homeassistant/{e}/config")

            commands = [("policy/set", "uplift"), ("camera/set", "OFF"), ("microphone/set", "ON"),
                        ("player/set", "next"), ("volume/set", "35"), ("library/rescan", "now")]
            for suffix, value in commands:
                await client.publish(f"{BASE}/{suffix}", value, qos=1)
            for bad_topic, bad in [("volume/set", "300"), ("policy/set", "party"), ("camera/set", b"\xff")]:
                await client.publish(f"{BASE}/{bad_topic}", bad, qos=1)
            for _ in range(100):
                if len(handler.calls) >= 6 and sum(m[0] == f"{BASE}/event" for m in obs.messages) >= 3:
                    break
                await asyncio.sleep(0.05)
            assert handler.calls == [("policy", "uplift"), ("camera", False), ("microphone", True),
                                     ("player", "next"), ("volume", 35), ("rescan",)]
            errors = [json.loads(p) for t, p, _ in obs.messages if t == f"{BASE}/event"]
            assert [e["type"] for e in errors] == ["error"] * 3
            assert errors[0]["topic"] == f"{BASE}/volume/set" and "0..100" in errors[0]["reason"]

            # Home Assistant restarts: discovery comes again
            obs.messages.clear()
            await client.publish("homeassistant/status", "online")
            await obs.wait_for(lambda m: m[0] == "homeassistant/sensor/testbox/mood/config")

            # a clean stop publishes offline within the budget
            task.cancel()
            await obs.wait_for(lambda m: m[0] == f"{BASE}/availability" and m[1] == b"offline", timeout=5)
            collector.cancel()

    run(scenario())


def test_last_will_publishes_offline_when_the_daemon_dies(broker):
    script = textwrap.dedent(f"""
        import asyncio
        from moodshuffle.config import MqttConfig
        from moodshuffle.report.mqtt import MqttBridge
        cfg = MqttConfig(host="127.0.0.1", port={broker.port}, username="speaker", password="s3cret", keepalive_s=5)
        asyncio.run(MqttBridge(cfg, "testbox", None).run())
    """)

    async def scenario():
        obs = Observer(broker)
        async with obs.client() as client:
            await client.subscribe(f"{BASE}/availability")
            collector = asyncio.create_task(obs.collect(client))
            proc = subprocess.Popen([sys.executable, "-c", script])
            try:
                await obs.wait_for(lambda m: m[1] == b"online")
                proc.send_signal(signal.SIGKILL)
                await obs.wait_for(lambda m: m[1] == b"offline", timeout=15)
            finally:
                proc.kill()
                proc.wait()
            collector.cancel()

    run(scenario())


def test_broker_restart_is_followed_by_republication(tmp_path):
    port = free_port()
    (tmp_path / "a").mkdir()
    first = Broker(tmp_path / "a", port).start()

    async def scenario():
        bridge = MqttBridge(MqttConfig(host="127.0.0.1", port=port), "testbox", RecordingHandler(),
                            backoff_first_s=0.2, backoff_max_s=1.0)
        bridge.publish_state({"mood": "sad"})
        task = asyncio.create_task(bridge.run())
        for _ in range(100):
            if bridge.connected:
                break
            await asyncio.sleep(0.05)
        assert bridge.connected
        first.stop()
        await asyncio.sleep(1.0)
        assert not bridge.connected
        bridge.publish_state({"mood": "happy"})  # while the broker is away: kept, not raised
        (tmp_path / "b").mkdir()
        second = Broker(tmp_path / "b", port).start()
        try:
            obs = Observer(second)
            async with obs.client() as client:
                await client.subscribe("#")
                collector = asyncio.create_task(obs.collect(client))
                await obs.wait_for(lambda m: m[0] == f"{BASE}/availability" and m[1] == b"online", timeout=15)
                await obs.wait_for(lambda m: m[0] == "homeassistant/sensor/testbox/mood/config")
                state = await obs.wait_for(lambda m: m[0] == f"{BASE}/state")
                assert json.loads(state[1]) == {"mood": "happy"}
                collector.cancel()
            late = Observer(second)  # a client that comes later gets the retained state
            async with late.client() as client:
                await client.subscribe(f"{BASE}/#")
                collector = asyncio.create_task(late.collect(client))
                state = await late.wait_for(lambda m: m[0] == f"{BASE}/state")
                assert state[2] and json.loads(state[1]) == {"mood": "happy"}
                collector.cancel()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            second.stop()

    run(scenario())


def test_tls_with_password_and_remove_discovery(tmp_path):
    tls = make_tls(tmp_path / "tls")
    b = Broker(tmp_path, free_port(), "speaker", "s3cret", tls=tls).start()
    try:
        cfg = config(b, tls=True, ca_file=str(tls["ca"]))

        async def scenario():
            task = asyncio.create_task(MqttBridge(cfg, "testbox", RecordingHandler()).run())
            obs = Observer(b, tls=True)
            async with obs.client() as client:
                await client.subscribe("#")
                collector = asyncio.create_task(obs.collect(client))
                await obs.wait_for(lambda m: m[0] == f"{BASE}/availability" and m[1] == b"online")
                await obs.wait_for(lambda m: m[0] == "homeassistant/number/testbox/volume/config" and m[1])
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                obs.messages.clear()
                await remove_discovery(cfg, "testbox")
                await obs.wait_for(lambda m: m[0] == "homeassistant/number/testbox/volume/config" and m[1] == b"")
                collector.cancel()

        run(scenario())
    finally:
        b.stop()


def test_wrong_password_is_retried_not_fatal(broker):
    async def scenario():
        cfg = MqttConfig(host="127.0.0.1", port=broker.port, username="speaker", password="wrong")
        bridge = MqttBridge(cfg, "testbox", RecordingHandler(), backoff_first_s=0.1, backoff_max_s=0.2)
        task = asyncio.create_task(bridge.run())
        await asyncio.sleep(1.0)
        assert not task.done() and not bridge.connected
        bridge.publish_event({"type": "mood_changed"})  # never raises while disconnected
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run(scenario())
