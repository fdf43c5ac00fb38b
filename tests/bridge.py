"""The MQTT bridge on a real controller, and an aiomqtt client that observes the broker."""

from __future__ import annotations

import asyncio

import aiomqtt
import numpy as np

from moodshuffle.config import Config, MqttConfig
from moodshuffle.core import Controller
from moodshuffle.report.mqtt import MqttBridge
from tests._tables import random_table
from tests.broker import Broker
from tests.recorder import Recorder

BASE = "moodshuffle/testbox"


def controller() -> tuple[Controller, Recorder]:
    """A real controller on a small synthetic library, not started yet (nothing will answer its
    requests to the player)."""
    core = Controller(Config(), 0.0, np.random.default_rng(0))
    rec = Recorder()
    core.add_listener(rec)
    core.library_loaded(random_table(20))
    return core, rec


def bridged(cfg: MqttConfig, **kw) -> tuple[MqttBridge, Controller, Recorder]:
    """A bridge listening to a started controller."""
    core, rec = controller()
    bridge = MqttBridge(cfg, "testbox", core, **kw)
    core.add_listener(bridge)
    core.start()
    return bridge, core, rec


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
