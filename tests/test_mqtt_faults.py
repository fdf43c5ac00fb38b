"""The MQTT bridge against faults a home network produces, on a real Mosquitto: retained
commands, an oversized command, a second speaker with the same device_id."""

from __future__ import annotations

import asyncio
import json
import logging

import aiomqtt
import pytest

from moodshuffle.config import MqttConfig
from moodshuffle.core import Sensor, SensorSwitched, VolumeChanged
from moodshuffle.report.inbox import REPORT_EVERY_S
from moodshuffle.report.mqtt import MqttBridge
from tests.bridge import BASE, Observer, bridged, controller, run
from tests.broker import Broker

pytestmark = pytest.mark.real


def cfg(b: Broker) -> MqttConfig:
    return MqttConfig(host="127.0.0.1", port=b.port)


async def until(pred, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not pred():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def announced(obs: Observer, bridge: MqttBridge, times: int = 1) -> None:
    """Wait until ``bridge`` has (re)subscribed ``times`` times: it announces its instance id after
    subscribing."""
    def count() -> int:
        return sum(t == f"{BASE}/instance" and p == bridge.instance.encode() for t, p, _ in obs.messages)
    await until(lambda: count() >= times)


def test_a_retained_command_is_never_obeyed_at_start_or_reconnect(anonymous_broker, caplog):
    caplog.set_level(logging.WARNING, logger="moodshuffle.mqtt")

    async def scenario():
        async with aiomqtt.Client("127.0.0.1", anonymous_broker.port) as client:
            await client.publish(f"{BASE}/camera/set", "ON", qos=1, retain=True)
        bridge, core, rec = bridged(cfg(anonymous_broker), backoff_first_s=0.1, backoff_max_s=0.5)
        task = asyncio.create_task(bridge.run())
        obs = Observer(anonymous_broker)
        async with obs.client() as client:
            await client.subscribe(f"{BASE}/instance")
            collector = asyncio.create_task(obs.collect(client))
            await announced(obs, bridge)
            await client.publish(f"{BASE}/camera/set", "OFF", qos=1)
            await until(lambda: rec.of(SensorSwitched))
            # a reconnect: another client takes the bridge's client id, the bridge comes back
            async with aiomqtt.Client("127.0.0.1", anonymous_broker.port,
                                      identifier=f"moodshuffle-testbox-{bridge.instance}"):
                await until(lambda: not bridge.connected)
            await announced(obs, bridge, times=2)
            # a live command after the reconnect: the retained ON (subscribed earlier) came before it
            await client.publish(f"{BASE}/volume/set", "40", qos=1)
            await until(lambda: rec.of(VolumeChanged))
            collector.cancel()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert rec.of(SensorSwitched) == [SensorSwitched(Sensor.CAMERA, False)]
        assert not core.sensor_wanted(Sensor.CAMERA)

    run(scenario())
    warnings = [r.getMessage() for r in caplog.records if "retained" in r.getMessage()]
    assert len(warnings) == 1 and f"{BASE}/camera/set" in warnings[0], warnings


def test_a_20_mb_command_is_dropped_before_it_reaches_the_daemon(anonymous_broker):
    async def scenario():
        bridge, core, rec = bridged(cfg(anonymous_broker))
        task = asyncio.create_task(bridge.run())
        obs = Observer(anonymous_broker)
        async with obs.client() as client:
            await client.subscribe(f"{BASE}/#")
            collector = asyncio.create_task(obs.collect(client))
            await announced(obs, bridge)
            await client.publish(f"{BASE}/volume/set", b"7" * (20 * 1024 * 1024), qos=1)
            await client.publish(f"{BASE}/volume/set", "33", qos=1)
            await until(lambda: rec.of(VolumeChanged), timeout=30)  # 20 MB through the broker first
            assert bridge.connected and not task.done()
            errors = [json.loads(p) for t, p, _ in obs.messages
                      if t == f"{BASE}/event" and json.loads(p)["type"] == "error"]
            collector.cancel()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        # without the packet limit the bridge would read all 20 MB and reject it with an error event
        assert errors == []
        assert rec.of(VolumeChanged) == [VolumeChanged(33)]

    run(scenario())


def test_two_speakers_with_one_device_id_warn_once_and_never_knock_each_other_off(anonymous_broker, caplog):
    caplog.set_level(logging.WARNING, logger="moodshuffle.mqtt")

    async def scenario():
        first, _, _ = bridged(cfg(anonymous_broker))
        core2, _ = controller()
        second = MqttBridge(cfg(anonymous_broker), "testbox", core2)
        core2.add_listener(second)
        core2.start()
        obs = Observer(anonymous_broker)
        async with obs.client() as client:
            await client.subscribe(f"{BASE}/availability")
            collector = asyncio.create_task(obs.collect(client))
            tasks = [asyncio.create_task(first.run())]
            await until(lambda: first.connected)
            tasks.append(asyncio.create_task(second.run()))
            await until(lambda: first.other_instance is not None and second.other_instance is not None)
            # the old client id was shared: each connect knocked the other off every 1-3 s
            await asyncio.sleep(4)
            assert first.connected and second.connected
            assert first.other_instance == second.instance and second.other_instance == first.instance
            assert [p for _, p, _ in obs.messages].count(b"offline") == 0
            collector.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    run(scenario())
    warnings = [r.getMessage() for r in caplog.records if "uses device_id" in r.getMessage()]
    assert len(warnings) == 2, warnings  # once in each speaker
    assert all("give each speaker its own device_id" in w for w in warnings)


def test_a_flood_of_invalid_commands_is_bounded_and_the_next_valid_one_is_prompt(anonymous_broker, caplog):
    """5,000 invalid commands a second for 10 s once grew the daemon by 180 MB, wrote a WARNING
    line for about every one and delayed the next valid command by minutes (issue 28, item 4)."""
    caplog.set_level(logging.WARNING)
    flood = 20_000

    async def scenario():
        bridge, core, rec = bridged(cfg(anonymous_broker))
        task = asyncio.create_task(bridge.run())
        obs = Observer(anonymous_broker)
        async with obs.client() as client:
            await client.subscribe(f"{BASE}/instance")
            await client.subscribe(f"{BASE}/event")
            collector = asyncio.create_task(obs.collect(client))
            await announced(obs, bridge)
            began = asyncio.get_running_loop().time()
            for _ in range(flood):
                await client.publish(f"{BASE}/volume/set", "300", qos=0)
            sent = asyncio.get_running_loop().time()
            await client.publish(f"{BASE}/volume/set", "37", qos=1)
            await until(lambda: rec.of(VolumeChanged), timeout=3.0)
            handled_s = asyncio.get_running_loop().time() - sent

            def counted() -> int:
                events = [json.loads(p) for t, p, _ in obs.messages if t == f"{BASE}/event"]
                return sum(e["count"] for e in events if e.get("type") == "error")

            await until(lambda: counted() >= flood, timeout=10)
            collector.cancel()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert rec.of(VolumeChanged) == [VolumeChanged(37)]
        assert counted() == flood  # every invalid one accounted for, in a few events
        return sent - began, handled_s

    flood_s, handled_s = run(scenario())
    assert handled_s < 1.0
    # two lines a report (the first rejection, then the count), a report every REPORT_EVERY_S
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) <= 2 * (flood_s / REPORT_EVERY_S + 3), [r.getMessage() for r in lines[:20]]


def test_a_broker_acl_that_refuses_the_daemons_publishes_is_warned_about_and_doctor_fails(tmp_path, caplog):
    """A broker ACL that let the daemon connect but publish nothing went unnoticed: zero messages,
    no warning, doctor ok (issue 28, item 10). Mosquitto answers each QoS 1 publish with PUBACK
    reason code 135 (Not authorized)."""
    from moodshuffle.config import parse_config
    from moodshuffle.doctor import _check_broker
    from tests.broker import free_port

    caplog.set_level(logging.WARNING, logger="moodshuffle.mqtt")
    broker = Broker(tmp_path, free_port(), acl="topic read #\n").start()
    try:
        async def scenario():
            bridge, core, rec = bridged(cfg(broker))
            task = asyncio.create_task(bridge.run())
            await until(lambda: bridge.refusals.reason is not None)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return bridge, core

        bridge, core = run(scenario())
        assert "Not authorized" in dict(core.state.errors)["mqtt"]  # the live view and the log show it
        assert "Not authorized" in bridge.refusals.reason and "135" in bridge.refusals.reason
        warnings = [r.getMessage() for r in caplog.records if "refuses" in r.getMessage()]
        assert len(warnings) == 1 and "acl_file" in warnings[0] and BASE in warnings[0], warnings
        ok, message = _check_broker(parse_config({"device_id": "testbox",
                                                  "mqtt": {"host": "127.0.0.1", "port": broker.port}}))
        assert not ok and "Not authorized" in message and "acl_file" in message, message
    finally:
        broker.stop()
