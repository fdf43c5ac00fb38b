"""Typed configuration, validated at start with one message per problem naming the key.

Every key has a default, so a config file names only what it changes. Unknown keys are
errors. The MQTT password may come from ``mqtt.password``, ``mqtt.password_file`` or the
``MOODSHUFFLE_MQTT_PASSWORD`` environment variable (in that order of preference: env wins
over file, file over the inline value), so secrets need not sit in the config file.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import os
import socket
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from moodshuffle.domain.policy import Policy
from moodshuffle.logs import printable
from moodshuffle.paths import MODELS_DIR, PathMap, state_dir

if typing.TYPE_CHECKING:
    from _typeshed import DataclassInstance

_T = typing.TypeVar("_T", bound="DataclassInstance")

POLICIES = tuple(Policy)

class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` holds one ``key: reason`` line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))

def _range(lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    return {"range": (lo, hi)}

def _choice(*values: Any) -> dict[str, Any]:
    return {"choices": values}

@dataclass
class CameraConfig:
    enabled: bool = True
    #: device index ("0"), "/dev/videoN", a video file path, a URL, or "picamera2"
    source: str = "0"
    interval_s: float = field(default=2.0, metadata=_range(0.05, 3600))
    #: live cameras: the capture size asked for (the driver may pick the nearest it has); files keep theirs
    width: int = field(default=640, metadata=_range(64, 4096))
    height: int = field(default=480, metadata=_range(48, 4096))
    rotation: int = field(default=0, metadata=_choice(0, 90, 180, 270))
    #: video files: True plays at the file's own frame rate, False steps one frame per sample
    realtime: bool = True
    #: video files: start again at the end
    loop: bool = False
    #: smaller faces are ignored; 24 px in 640x480 is about 4 m with a 60-degree lens (see bench/sweep_face_crop.py)
    min_face_px: int = field(default=24, metadata=_range(12, 2048))
    detector_threshold: float = field(default=0.5, metadata=_range(0.05, 0.99))
    #: when set, annotated frames are written here (off by default; privacy!)
    debug_dir: str | None = None

@dataclass
class MicrophoneConfig:
    enabled: bool = True
    #: "default", a PyAudio device index or name substring, or a WAV/OGG file path
    source: str = "default"
    gain_db: float = field(default=0.0, metadata=_range(-40, 40))
    #: files: start again at the end
    loop: bool = False

@dataclass
class LibraryConfig:
    paths: list[str] = field(default_factory=lambda: ["~/Music"])
    #: "" means <state dir>/library.sqlite3
    index_path: str = ""
    scan_on_start: bool = True
    #: hours between background rescans; 0 disables them
    rescan_interval_h: float = field(default=24.0, metadata=_range(0, 24 * 365))
    #: days a play, skip or like stays in the listening history (and teaches the taste model)
    history_days: float = field(default=180.0, metadata=_range(1, 3650))
    #: processes analysing tracks in a scan, one music model each; 0: the cores but one (at least 1)
    scan_workers: int = field(default=0, metadata=_range(0, 64))
    #: "LOCAL -> STORED" folder rewrites, for an index scanned here and used elsewhere (paths.PathMap)
    path_map: list[str] = field(default_factory=list)

    def resolved_index_path(self) -> Path:
        if self.index_path:
            return Path(os.path.expandvars(self.index_path)).expanduser()
        return state_dir() / "library.sqlite3"

    def resolved_paths(self) -> list[Path]:
        return [Path(os.path.expandvars(p)).expanduser() for p in self.paths]

@dataclass
class MpdConfig:
    host: str = "localhost"
    port: int = field(default=6600, metadata=_range(1, 65535))
    password: str | None = None
    #: MPD's music directory as seen on this machine ("": ask MPD)
    music_directory: str = ""

@dataclass
class PlayerConfig:
    enabled: bool = True
    backend: str = field(default="vlc", metadata=_choice("vlc", "mpd"))
    mpd: MpdConfig = field(default_factory=MpdConfig)
    vlc_args: list[str] = field(default_factory=lambda: ["--no-video", "--quiet"])
    volume: int = field(default=70, metadata=_range(0, 100))
    #: how many upcoming tracks the queue holds
    upcoming: int = field(default=10, metadata=_range(1, 100))

@dataclass
class MoodConfig:
    policy: Policy = Policy.MATCH
    #: half-life of the expression (how fast the mood follows the faces), seconds
    half_life_s: float = field(default=5.0, metadata=_range(0.5, 3600))
    #: half-life of the room's learnt rest (how slowly a new resting face becomes "neutral"), seconds
    baseline_half_life_s: float = field(default=600.0, metadata=_range(10, 86400))
    #: half-life of the mood's decay toward neutral while nobody is seen, seconds
    absent_half_life_s: float = field(default=20.0, metadata=_range(1, 86400))
    #: mood probability per unit of departure from rest
    sensitivity: float = field(default=2.0, metadata=_range(0.1, 10))
    #: the same, for naming the label: a departure too small to move the music much may still
    #: be named (issue 27: bench/sweep_label.py --naming; the mood point keeps ``sensitivity``)
    label_sensitivity: float = field(default=3.0, metadata=_range(0.1, 10))
    #: the new dominant class must lead by this probability margin ...
    hysteresis_margin: float = field(default=0.08, metadata=_range(0, 1))
    #: ... for this long before the mood label changes
    hysteresis_hold_s: float = field(default=6.0, metadata=_range(0, 3600))
    #: uplift/calm: largest move of the target per track in valence/arousal units
    step: float = field(default=0.25, metadata=_range(0.01, 2))
    #: shuffle temperature over the best candidates; 0 picks the best
    temperature: float = field(default=0.1, metadata=_range(0, 10))
    #: share of the library that must play before a track may repeat
    no_repeat_share: float = field(default=0.5, metadata=_range(0, 1))
    #: tracks between two tracks of the same artist
    artist_gap: int = field(default=3, metadata=_range(0, 100))

@dataclass
class MqttConfig:
    enabled: bool = True
    host: str = "localhost"
    port: int = field(default=1883, metadata=_range(1, 65535))
    username: str | None = None
    password: str | None = None
    password_file: str | None = None
    tls: bool = False
    ca_file: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    keepalive_s: int = field(default=60, metadata=_range(5, 3600))
    base_topic: str = "moodshuffle"
    discovery: bool = True
    discovery_prefix: str = "homeassistant"

    def resolved_password(self) -> str | None:
        env = os.environ.get("MOODSHUFFLE_MQTT_PASSWORD")
        if env:
            return env
        if self.password_file:
            return Path(self.password_file).expanduser().read_text().strip()
        return self.password

@dataclass
class ModelsConfig:
    face_detector: str = str(MODELS_DIR / "face_detector.tflite")
    face_expression: str = str(MODELS_DIR / "face_emotion.tflite")
    #: crop, geometry head, fusion and neutral correction tuned for face_expression
    #: (bench/sweep_face_path.py); null: the expression CNN alone with the default crop
    face_tuning: str | None = str(MODELS_DIR / "face_tuning.json")
    #: how the mood label reads a departure from rest (models/fit_mood_naming.py); null: as the
    #: expression model splits it
    mood_naming: str | None = str(MODELS_DIR / "mood_naming.json")
    #: MediaPipe's face mesh, loaded only when the tuning fuses geometry
    face_landmarks: str = str(MODELS_DIR / "face_landmarks.tflite")
    music: str = str(MODELS_DIR / "music_emotion.tflite")
    voice: str = str(MODELS_DIR / "voice_emotion.tflite")
    #: TFLite interpreter threads per model
    num_threads: int = field(default=1, metadata=_range(1, 8))

@dataclass
class Config:
    device_id: str = field(default_factory=lambda: _default_device_id())
    log_level: str = field(default="INFO", metadata=_choice("DEBUG", "INFO", "WARNING", "ERROR"))
    camera: CameraConfig = field(default_factory=CameraConfig)
    microphone: MicrophoneConfig = field(default_factory=MicrophoneConfig)
    library: LibraryConfig = field(default_factory=LibraryConfig)
    player: PlayerConfig = field(default_factory=PlayerConfig)
    mood: MoodConfig = field(default_factory=MoodConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)

def _default_device_id() -> str:
    name = socket.gethostname().split(".")[0].lower()
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "moodshuffle"

def _coerce(key: str, value: Any, tp: Any, meta: Any, problems: list[str]) -> Any:
    """Check ``value`` against the annotation ``tp``; return it (converted) or record a problem."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(key, value, inner, meta, problems)
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            problems.append(f"{key}: must be a list, got {value!r}")
            return None
        return [_coerce(f"{key}[{i}]", v, inner, {}, problems) for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            problems.append(f"{key}: must be a mapping, got {value!r}")
            return None
        return _build(typing.cast("type[DataclassInstance]", tp), value, key + ".", problems)
    if tp is bool:
        if not isinstance(value, bool):
            problems.append(f"{key}: must be true or false, got {value!r}")
            return None
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{key}: must be an integer, got {value!r}")
            return None
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{key}: must be a number, got {value!r}")
            return None
        value = float(value)
        if not math.isfinite(value):
            # NaN compares false with every bound, so the range check below would let it through
            problems.append(f"{key}: must be a finite number{_bounds(meta)}, got {value!r}")
            return None
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            problems.append(f"{key}: must be one of {', '.join(str(m.value) for m in tp)}, got {value!r}")
            return None
    elif tp is str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            problems.append(f"{key}: must be a string, got {value!r}")
            return None
        value = str(value)
    if "range" in meta:
        lo, hi = meta["range"]
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            problems.append(f"{key}: must be {lo:g}..{hi:g}, got {value!r}")
            return None
    if "choices" in meta and value not in meta["choices"]:
        allowed = ", ".join(str(c) for c in meta["choices"])
        problems.append(f"{key}: must be one of {allowed}, got {value!r}")
        return None
    return value

def _bounds(meta: Any) -> str:
    """`` in 1..3600`` / `` >= 0`` for a message, from the field's range."""
    lo, hi = meta.get("range", (None, None))
    if lo is not None and hi is not None:
        return f" in {lo:g}..{hi:g}"
    if lo is not None:
        return f" >= {lo:g}"
    return f" <= {hi:g}" if hi is not None else ""

def _build(cls: type[_T], data: dict[str, Any], prefix: str, problems: list[str]) -> _T:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            known = ", ".join(fields)
            problems.append(f"{prefix}{key}: unknown key (known: {known})")
            continue
        converted = _coerce(prefix + key, value, hints[key], fields[key].metadata, problems)
        if converted is not None or value is None:
            kwargs[key] = converted
    return cls(**kwargs)

def _check_semantics(cfg: Config, problems: list[str]) -> None:
    if not cfg.device_id or any(c in cfg.device_id for c in "/#+ "):
        problems.append(f"device_id: must be non-empty without '/', '#', '+' or spaces, got {cfg.device_id!r}")
    for key, topic in (("mqtt.base_topic", cfg.mqtt.base_topic), ("mqtt.discovery_prefix", cfg.mqtt.discovery_prefix)):
        if not topic or any(c in topic for c in "#+") or topic.startswith("/") or topic.endswith("/"):
            problems.append(f"{key}: must be a topic without wildcards or leading/trailing '/', got {topic!r}")
    if (cfg.mqtt.certfile is None) != (cfg.mqtt.keyfile is None):
        problems.append("mqtt.keyfile: a client certificate needs both mqtt.certfile and mqtt.keyfile")
    for key in ("ca_file", "certfile", "keyfile", "password_file"):
        value = getattr(cfg.mqtt, key)
        if value and not Path(value).expanduser().is_file():
            problems.append(f"mqtt.{key}: file not found: {value}")
    if cfg.player.backend == "mpd" and not cfg.player.mpd.host:
        problems.append("player.mpd.host: must name MPD's host or socket path, got ''")
    if not cfg.library.paths:
        problems.append("library.paths: must name at least one folder")
    for i, entry in enumerate(cfg.library.path_map):
        try:
            PathMap([entry])
        except ValueError as exc:
            problems.append(f"library.path_map[{i}]: {exc}")

def parse_config(data: Any) -> Config:
    """Validate a parsed YAML document into a Config; raise ConfigError listing every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"(top level): must be a mapping of keys, got {type(data).__name__}"])
    problems: list[str] = []
    cfg = _build(Config, data, "", problems)
    if not problems:
        _check_semantics(cfg, problems)
    if problems:
        raise ConfigError(problems)
    return cfg

def _one_line(exc: yaml.YAMLError) -> str:
    """PyYAML's multi-line message (with a snippet of the file) as one line with the position."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(exc).split())

def load_config(path: Path | None) -> Config:
    """Load and validate a config file; ``None`` gives the defaults."""
    if path is None:
        return parse_config({})
    name = printable(str(path))
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError([f"{name}: cannot read: {exc.strerror}"]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([f"{name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}): save it as "
                           "UTF-8"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{name}: not valid YAML: {_one_line(exc)}"]) from exc
    return parse_config(data)
