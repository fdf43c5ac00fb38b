"""Topics and payloads of the MQTT contract (pure; documented in docs/mqtt.md)."""

from __future__ import annotations

import json
from typing import Any

from moodshuffle import __version__
from moodshuffle.config import POLICIES, MqttConfig


def base_topic(cfg: MqttConfig, device_id: str) -> str:
    return f"{cfg.base_topic}/{device_id}"


def _entities(base: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(component, object id, entity-specific config) of every Home Assistant entity."""
    state = f"{base}/state"
    return [
        ("sensor", "mood", {"name": "Mood", "icon": "mdi:emoticon-outline", "state_topic": state,
                            "value_template": "{{ value_json.mood }}", "json_attributes_topic": state,
                            "json_attributes_template": "{{ value_json.probabilities | tojson }}"}),
        ("sensor", "valence", {"name": "Valence", "icon": "mdi:emoticon-happy-outline", "state_topic": state,
                               "value_template": "{{ value_json.valence }}", "state_class": "measurement"}),
        ("sensor", "arousal", {"name": "Arousal", "icon": "mdi:lightning-bolt-outline", "state_topic": state,
                               "value_template": "{{ value_json.arousal }}", "state_class": "measurement"}),
        ("sensor", "confidence", {"name": "Mood confidence", "icon": "mdi:gauge", "state_topic": state,
                                  "value_template": "{{ value_json.confidence }}", "state_class": "measurement"}),
        ("select", "policy", {"name": "Policy", "icon": "mdi:playlist-music", "state_topic": state,
                              "value_template": "{{ value_json.policy }}", "command_topic": f"{base}/policy/set",
                              "options": list(POLICIES)}),
        ("switch", "camera", {"name": "Camera", "icon": "mdi:camera", "state_topic": state,
                              "value_template": "{{ value_json.camera }}", "command_topic": f"{base}/camera/set",
                              "payload_on": "ON", "payload_off": "OFF", "state_on": "ON", "state_off": "OFF"}),
        ("switch", "microphone", {"name": "Microphone", "icon": "mdi:microphone", "state_topic": state,
                                  "value_template": "{{ value_json.microphone }}",
                                  "command_topic": f"{base}/microphone/set", "payload_on": "ON", "payload_off": "OFF",
                                  "state_on": "ON", "state_off": "OFF"}),
        ("button", "next_track", {"name": "Next track", "icon": "mdi:skip-next", "command_topic": f"{base}/player/set",
                                  "payload_press": "next"}),
        ("sensor", "now_playing", {"name": "Now playing", "icon": "mdi:music", "state_topic": state,
                                   "value_template": "{% if value_json.player.track %}"
                                                     "{{ value_json.player.track.artist }} - "
                                                     "{{ value_json.player.track.title }}{% else %}-{% endif %}"}),
        ("number", "volume", {"name": "Volume", "icon": "mdi:volume-high", "state_topic": state,
                              "value_template": "{{ value_json.player.volume }}", "command_topic": f"{base}/volume/set",
                              "min": 0, "max": 100, "step": 1, "mode": "slider"}),
    ]


def discovery_messages(cfg: MqttConfig, device_id: str) -> list[tuple[str, str]]:
    """(topic, retained JSON payload) of every Home Assistant discovery entry."""
    base = base_topic(cfg, device_id)
    device = {"identifiers": [f"moodshuffle_{device_id}"], "name": f"moodshuffle {device_id}",
              "model": "moodshuffle", "manufacturer": "moodshuffle", "sw_version": __version__}
    out = []
    for component, obj, extra in _entities(base):
        payload = {"unique_id": f"moodshuffle_{device_id}_{obj}", "object_id": f"moodshuffle_{device_id}_{obj}",
                   "availability_topic": f"{base}/availability", "device": device, **extra}
        out.append((f"{cfg.discovery_prefix}/{component}/{device_id}/{obj}/config", json.dumps(payload)))
    return out


def encode(payload: dict[str, Any]) -> str:
    """JSON for the state and event topics (compact, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
