"""The MQTT contract, pure: topics, the JSON of the state and the events, and the Home
Assistant discovery entries whose templates read that JSON (documented in docs/mqtt.md).

This is the only module that turns a ``State`` or an event into JSON.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from moodshuffle import __version__
from moodshuffle.config import POLICIES, MqttConfig
from moodshuffle.core import (
    FeedbackGiven,
    MoodChanged,
    MoodSource,
    PlayerAction,
    QueueReordered,
    StageFailed,
    StageStatus,
    State,
    TrackFailed,
    TrackStarted,
)
from moodshuffle.domain.emotions import EMOTIONS
from moodshuffle.domain.tracks import Track, UpcomingTrack

JsonObject = dict[str, Any]

ON, OFF = StageStatus.ON.value, StageStatus.OFF.value
#: the ``mood/set`` payload (and select option) that hands the mood back to the sensors
AUTO = "auto"
#: Home Assistant event entities: topic suffix under <base>/ -> its event types
MOOD_EVENT_TOPIC, TRACK_EVENT_TOPIC = "event/mood", "event/track"
TRACK_EVENT_TYPES = ("track_started",)


def base_topic(cfg: MqttConfig, device_id: str) -> str:
    return f"{cfg.base_topic}/{device_id}"


# ----------------------------------------------------------------- state and events
def _track(track: Track) -> JsonObject:
    return {"title": track.title, "artist": track.artist, "album": track.album,
            "duration_s": round(float(track.duration_s), 1)}


def _upcoming(u: UpcomingTrack) -> JsonObject:
    """A queued track: who, where it sits in the emotion space, the policy target it was chosen
    for, and why (the score parts)."""
    return {"title": u.title, "artist": u.artist, "valence": round(u.va[0], 3), "arousal": round(u.va[1], 3),
            "target": None if u.target is None else [round(float(t), 3) for t in u.target],
            "score": round(float(u.score), 4), "parts": {k: round(float(v), 4) for k, v in u.parts.as_dict().items()}}


def state_payload(state: State, now: datetime, clock_now: float | None = None) -> JsonObject:
    """The retained ``<base>/state`` JSON; ``now`` (UTC) becomes ``updated``; ``clock_now``: the
    controller's clock at ``now``, to turn ``mood_until`` into a time of day (None: not shown)."""
    mood, player = state.mood, state.player
    until = None
    if state.mood_until is not None and clock_now is not None:
        until = (now + timedelta(seconds=state.mood_until - clock_now)).isoformat(timespec="seconds")
    return {
        "mood": mood.label,
        "mood_source": state.mood_source.value,
        "mood_until": until,
        "mood_minutes": state.mood_minutes,
        "probabilities": {name: round(float(p), 4) for name, p in zip(EMOTIONS, mood.probs, strict=True)},
        "valence": round(float(mood.valence), 4),
        "arousal": round(float(mood.arousal), 4),
        "confidence": round(float(mood.confidence), 4),
        "faces": int(mood.faces),
        "policy": state.policy.value,
        "camera": state.camera.value,
        "microphone": state.microphone.value,
        "voice": {"arousal": None if state.voice.arousal is None else round(state.voice.arousal, 3),
                  "speech_recent": state.voice.speech_recent},
        "player": {"state": player.state.value, "volume": player.volume,
                   "track": None if player.track is None else _track(player.track),
                   "chosen_elsewhere": player.chosen_elsewhere},
        "upcoming": [_upcoming(u) for u in state.upcoming],
        "library": {"tracks": state.library.tracks, "scanning": state.library.scanning,
                    "unavailable": list(state.library.unavailable)},
        "errors": dict(state.errors),
        "updated": now.isoformat(timespec="seconds"),
    }


def mood_changed_payload(event: MoodChanged) -> JsonObject:
    return {"type": "mood_changed", "from": event.previous, "to": event.current,
            "confidence": round(event.confidence, 3)}


def queue_reordered_payload(event: QueueReordered) -> JsonObject:
    return {"type": "queue_reordered", "reason": event.reason.value, "policy": event.policy.value,
            "upcoming": [_upcoming(u) for u in event.upcoming]}


def track_started_payload(event: TrackStarted) -> JsonObject:
    return {"type": "track_started", "track": _track(event.track)}


def feedback_payload(event: FeedbackGiven) -> JsonObject:
    return {"type": "feedback", "feedback": event.kind.value, "mood": event.context.label, "track": _track(event.track)}


def mood_event_payload(event: MoodChanged) -> JsonObject:
    """``<base>/event/mood`` for Home Assistant's MQTT event entity: ``event_type`` is the new
    mood (one of EMOTIONS); the other keys become the event's attributes."""
    return {"event_type": event.current, "from": event.previous, "confidence": round(event.confidence, 3)}


def track_event_payload(event: TrackStarted) -> JsonObject:
    """``<base>/event/track`` for Home Assistant's MQTT event entity."""
    mood = None if event.context is None else event.context.label
    return {"event_type": "track_started", **_track(event.track), "mood": mood}


def track_failed_payload(event: TrackFailed) -> JsonObject:
    return {"type": "error", "source": "player", "path": event.track.path, "reason": event.reason}


def stage_failed_payload(event: StageFailed) -> JsonObject:
    return {"type": "error", "source": "stage", "stage": event.stage, "reason": event.reason}


def command_error_payload(topic: str, reason: str, count: int = 1) -> JsonObject:
    """``count`` commands on ``topic`` were rejected since the last such event; ``reason``: the latest's."""
    return {"type": "error", "topic": topic, "reason": reason, "count": count}


def duplicate_device_payload(device_id: str, other: str) -> JsonObject:
    return {"type": "error", "source": "mqtt", "reason": f"another speaker (instance {other}) uses device_id "
            f"{device_id!r}: give each speaker its own device_id"}


def encode(payload: JsonObject) -> str:
    """JSON for the state and event topics (compact, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


# ----------------------------------------------------------------- Home Assistant discovery
def _track_name(expr: str) -> str:
    """A template showing the track ``expr`` as "artist - title", the title alone when the
    artist is unknown (``Track.name``), "-" for no track."""
    return ("{% set t = " + expr + " %}{% if t %}{{ [t.artist, t.title] | select | join(' - ') }}"
            "{% else %}-{% endif %}")


def _entities(base: str) -> list[tuple[str, str, JsonObject]]:
    """(component, object id, entity-specific config) of every Home Assistant entity; the
    templates read ``state_payload``'s JSON."""
    state = f"{base}/state"
    switch = {"payload_on": ON, "payload_off": OFF, "state_on": ON, "state_off": OFF}
    return [
        ("sensor", "mood", {"name": "Mood", "icon": "mdi:emoticon-outline", "state_topic": state,
                            "value_template": "{{ value_json.mood }}", "device_class": "enum",
                            "options": list(EMOTIONS), "json_attributes_topic": state,
                            "json_attributes_template": "{{ value_json.probabilities | tojson }}"}),
        ("sensor", "valence", {"name": "Valence", "icon": "mdi:emoticon-happy-outline", "state_topic": state,
                               "value_template": "{{ value_json.valence }}", "state_class": "measurement",
                               "suggested_display_precision": 2}),
        ("sensor", "arousal", {"name": "Arousal", "icon": "mdi:lightning-bolt-outline", "state_topic": state,
                               "value_template": "{{ value_json.arousal }}", "state_class": "measurement",
                               "suggested_display_precision": 2}),
        ("sensor", "confidence", {"name": "Mood confidence", "icon": "mdi:gauge", "state_topic": state,
                                  "value_template": "{{ (value_json.confidence * 100) | round(0) | int }}",
                                  "unit_of_measurement": "%", "state_class": "measurement",
                                  "suggested_display_precision": 0}),
        ("select", "policy", {"name": "Policy", "icon": "mdi:playlist-music", "state_topic": state,
                              "value_template": "{{ value_json.policy }}", "command_topic": f"{base}/policy/set",
                              "options": [p.value for p in POLICIES]}),
        ("switch", "camera", {"name": "Camera", "icon": "mdi:camera", "state_topic": state,
                              "value_template": "{{ value_json.camera }}", "command_topic": f"{base}/camera/set",
                              **switch}),
        ("switch", "microphone", {"name": "Microphone", "icon": "mdi:microphone", "state_topic": state,
                                  "value_template": "{{ value_json.microphone }}",
                                  "command_topic": f"{base}/microphone/set", **switch}),
        ("button", "play", {"name": "Play", "icon": "mdi:play", "command_topic": f"{base}/player/set",
                            "payload_press": PlayerAction.PLAY.value}),
        ("button", "pause", {"name": "Pause", "icon": "mdi:pause", "command_topic": f"{base}/player/set",
                             "payload_press": PlayerAction.PAUSE.value}),
        ("button", "next_track", {"name": "Next track", "icon": "mdi:skip-next", "command_topic": f"{base}/player/set",
                                  "payload_press": PlayerAction.NEXT.value}),
        ("button", "rescan", {"name": "Rescan library", "icon": "mdi:folder-refresh", "entity_category": "config",
                              "command_topic": f"{base}/library/rescan", "payload_press": "now"}),
        ("sensor", "now_playing", {"name": "Now playing", "icon": "mdi:music", "state_topic": state,
                                   "value_template": _track_name("value_json.player.track")}),
        ("button", "like", {"name": "Like", "icon": "mdi:thumb-up", "command_topic": f"{base}/feedback/set",
                            "payload_press": "like"}),
        ("button", "dislike", {"name": "Dislike", "icon": "mdi:thumb-down", "command_topic": f"{base}/feedback/set",
                               "payload_press": "dislike"}),
        ("select", "set_mood", {"name": "Set mood", "icon": "mdi:emoticon-cool-outline", "state_topic": state,
                                "value_template": "{{ value_json.mood if value_json.mood_source == '"
                                                  + MoodSource.SET.value + "' else '" + AUTO + "' }}",
                                "command_topic": f"{base}/mood/set", "options": [AUTO, *EMOTIONS]}),
        ("number", "set_mood_minutes", {"name": "Set mood for", "icon": "mdi:timer-outline", "state_topic": state,
                                        "value_template": "{{ value_json.mood_minutes }}",
                                        "command_topic": f"{base}/mood/minutes/set", "min": 0, "max": 1440,
                                        "step": 5, "unit_of_measurement": "min", "mode": "box"}),
        ("event", "mood_changed", {"name": "Mood changed", "icon": "mdi:emoticon-outline",
                                   "state_topic": f"{base}/{MOOD_EVENT_TOPIC}", "event_types": list(EMOTIONS)}),
        ("event", "track_started", {"name": "Track started", "icon": "mdi:music-note",
                                    "state_topic": f"{base}/{TRACK_EVENT_TOPIC}",
                                    "event_types": list(TRACK_EVENT_TYPES)}),
        ("sensor", "up_next", {"name": "Up next", "icon": "mdi:playlist-play", "state_topic": state,
                                  "value_template": _track_name("(value_json.upcoming or [none])[0]"),
                                  "json_attributes_topic": state,
                                  "json_attributes_template": "{{ (value_json.upcoming[0] if value_json.upcoming"
                                                              " else {}) | tojson }}"}),
        ("number", "volume", {"name": "Volume", "icon": "mdi:volume-high", "state_topic": state,
                              "value_template": "{{ value_json.player.volume }}", "command_topic": f"{base}/volume/set",
                              "min": 0, "max": 100, "step": 1, "mode": "slider"}),
    ]


def discovery_messages(cfg: MqttConfig, device_id: str) -> list[tuple[str, str]]:
    """(topic, retained JSON payload) of every Home Assistant discovery entry. The entity ids
    (``default_entity_id``) are those ``object_id`` gave before: ``<component>.moodshuffle_<device_id>_<object>``."""
    base = base_topic(cfg, device_id)
    device = {"identifiers": [f"moodshuffle_{device_id}"], "name": f"moodshuffle {device_id}",
              "model": "moodshuffle", "manufacturer": "moodshuffle", "sw_version": __version__}
    out = []
    for component, obj, extra in _entities(base):
        payload = {"unique_id": f"moodshuffle_{device_id}_{obj}",
                   "default_entity_id": f"{component}.moodshuffle_{device_id}_{obj}",
                   "availability_topic": f"{base}/availability", "device": device, **extra}
        out.append((f"{cfg.discovery_prefix}/{component}/{device_id}/{obj}/config", json.dumps(payload)))
    return out
