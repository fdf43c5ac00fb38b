"""Where the music should take the listener (the ``mood.policy`` key, MQTT ``policy/set``);
the targets each policy sets are ``decide/policies.py``."""

from __future__ import annotations

from enum import StrEnum


class Policy(StrEnum):
    """Where the music should take the listener (the ``mood.policy`` key, MQTT ``policy/set``)."""

    MATCH = "match"
    UPLIFT = "uplift"
    CALM = "calm"
    OFF = "off"
