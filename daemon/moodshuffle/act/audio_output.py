"""Whether the audio output that ``player.vlc_args`` names exists, and a libVLC instance that
names the ``vlc_args`` entry it rejects.

libVLC "plays" a track to its end on an ALSA device that does not exist (``--aout=alsa
--alsa-audio-device=hw:9,9``): it logs an error of its own and the clock runs on in silence, so
the daemon reported tracks completed (and taught the taste learner they were liked) while nothing
was heard. The device is looked up where ALSA keeps its cards (``/proc/asound``) before a track is
played, and named when it is missing.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import vlc

from moodshuffle.config import ConfigError

ASOUND = Path("/proc/asound")
#: libVLC's names for an output that are not module names of their own
AOUT_ALIASES = {"dummy", "any", "none"}
_CARD = re.compile(r"^[a-z]*:(?:CARD=)?([^,]+)(?:,(?:DEV=)?(\d+))?", re.IGNORECASE)


def _option(args: list[str], name: str) -> str | None:
    """The value of the last ``--name=value`` (or ``--name value``) in ``args``."""
    value = None
    for i, arg in enumerate(args):
        if arg.startswith(f"--{name}="):
            value = arg.split("=", 1)[1]
        elif arg == f"--{name}" and i + 1 < len(args):
            value = args[i + 1]
    return value


def alsa_device_problem(device: str, asound: Path = ASOUND) -> str | None:
    """Why the ALSA PCM ``device`` (``hw:1,0``, ``plughw:CARD=Device,DEV=0``, ``default``) cannot
    exist on this machine, or None (a name without a card, such as ``default``, is not judged)."""
    match = _CARD.match(device)
    if match is None:
        return None
    card, dev = match.group(1), match.group(2)
    folder = asound / (f"card{card}" if card.isdigit() else card)
    if not folder.exists():
        cards = sorted(p.name for p in asound.glob("card[0-9]*")) if asound.is_dir() else []
        found = ", ".join(cards) if cards else "no sound card at all"
        return f"the ALSA device {device!r} does not exist (no sound card {card}; found: {found})"
    if dev is not None and not (folder / f"pcm{dev}p").exists():
        return f"the ALSA device {device!r} does not exist (sound card {card} has no playback device {dev})"
    return None


def audio_output_problem(vlc_args: list[str], asound: Path = ASOUND) -> str | None:
    """Why the audio output ``vlc_args`` choose cannot be heard, or None: an unknown ``--aout``
    module, or an ALSA device that does not exist."""
    aout = _option(vlc_args, "aout")
    if aout is not None and aout not in AOUT_ALIASES:
        known = _aout_modules()
        if known and aout not in known:
            return f"player.vlc_args: --aout={aout}: libVLC has no such output (it has {', '.join(sorted(known))})"
    device = _option(vlc_args, "alsa-audio-device")
    if device is not None and aout in (None, "alsa"):
        problem = alsa_device_problem(device, asound)
        if problem is not None:
            return f"no sound: {problem} (player.vlc_args --alsa-audio-device)"
    return None


@functools.cache
def _aout_modules() -> frozenset[str]:
    probe = vlc.Instance(["--quiet"])
    if probe is None:
        return frozenset()
    try:
        return frozenset(m["name"].decode() for m in probe.audio_output_enumerate_devices())
    finally:
        probe.release()


def vlc_instance(vlc_args: list[str]) -> vlc.Instance:
    """A libVLC instance for ``vlc_args``; ConfigError naming the entry libVLC rejects."""
    instance = vlc.Instance(vlc_args)
    if instance is not None:
        return instance
    for arg in vlc_args:
        alone = vlc.Instance(["--quiet", arg])
        if alone is None:
            raise ConfigError([f"player.vlc_args: libVLC rejects {arg!r} (see `cvlc --help` for its options)"])
        alone.release()
    raise ConfigError([f"player.vlc_args: libVLC rejects {vlc_args} together (see `cvlc --help`)"])
