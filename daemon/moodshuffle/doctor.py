"""``moodshuffle doctor``: check camera, microphone, the player (VLC or MPD), broker and models; say how to fix."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from moodshuffle.config import Config, ConfigError
from moodshuffle.logs import printable
from moodshuffle.sense.probe_noise import filtered_stderr


def _check_models(cfg: Config) -> tuple[bool, str]:
    from moodshuffle.estimate.naming import load_naming
    from moodshuffle.perceive.tuning import FaceTuning
    from moodshuffle.runtime import ModelError, load_interpreter

    problems = []
    names = ["face_detector", "face_expression", "music", "voice"]
    if cfg.models.face_tuning:
        try:
            if FaceTuning.load(Path(cfg.models.face_tuning)).uses_geometry:
                names.append("face_landmarks")
        except ModelError as exc:
            problems.append(f"models.face_tuning: {exc}")
    for name in names:
        path = Path(getattr(cfg.models, name))
        try:
            load_interpreter(path)
        except ModelError as exc:
            problems.append(f"models.{name}: {exc}")
    if cfg.models.mood_naming:
        try:
            load_naming(cfg.models)
        except ModelError as exc:
            problems.append(f"models.mood_naming: {exc}")
    if problems:
        return False, "; ".join(problems) + " -- fix: point models.* at the files shipped in models/"
    return True, f"all {len(names) + bool(cfg.models.face_tuning) + bool(cfg.models.mood_naming)} model files load"


def _check_camera(cfg: Config) -> tuple[bool, str]:
    if not cfg.camera.enabled:
        return True, "disabled in config (camera.enabled: false)"
    source = cfg.camera.source
    if source == "picamera2":
        try:
            import picamera2  # noqa: F401
        except ImportError:
            return False, ("picamera2 not importable -- fix: sudo apt install python3-picamera2 and create the "
                           "venv with --system-site-packages (scripts/setup.sh does)")
        return True, "picamera2 importable"
    import cv2

    target: int | str = int(source) if source.isdigit() else source
    with filtered_stderr(_everything):  # V4L and FFmpeg warn on fd 2 while probing
        cap = cv2.VideoCapture(target)
        ok = cap.isOpened() and cap.read()[0]
        cap.release()
    if ok:
        return True, f"camera {source!r} delivers frames"
    hint = ("is a camera plugged in? `ls /dev/video*`; is the user in group video?"
            if isinstance(target, int) or str(target).startswith("/dev/") else "does the file/URL exist?")
    return False, f"camera {source!r} gives no frame -- fix: {hint} (the daemon keeps running and retries)"


def _check_microphone(cfg: Config) -> tuple[bool, str]:
    if not cfg.microphone.enabled:
        return True, "disabled in config (microphone.enabled: false)"
    source = cfg.microphone.source
    if Path(source).expanduser().is_file():
        return True, f"file source {source}"
    try:
        with filtered_stderr():
            import pyaudio

            pa = pyaudio.PyAudio()
            try:
                n = sum(
                    1 for i in range(pa.get_device_count()) if pa.get_device_info_by_index(i)["maxInputChannels"] > 0
                )
            finally:
                pa.terminate()
    except Exception as exc:  # PortAudio raises plain OSError/Exception subclasses
        return False, f"PortAudio failed: {exc} -- fix: sudo apt install portaudio19-dev, then rerun setup"
    if n == 0:
        return False, "no audio input device -- fix: plug in a USB microphone; is the user in group audio?"
    return True, f"{n} input device(s)"


def _check_player(cfg: Config) -> tuple[bool, str]:
    if not cfg.player.enabled:
        return True, "disabled in config (player.enabled: false)"
    if cfg.player.backend == "mpd":
        from moodshuffle.act.mpd_check import check_mpd

        return check_mpd(cfg)
    try:
        import vlc

        from moodshuffle.act.audio_output import audio_output_problem, vlc_instance
    except (ImportError, OSError, NameError) as exc:
        return False, f"libVLC not usable: {exc} -- fix: sudo apt install vlc-bin vlc-plugin-base"
    try:
        instance = vlc_instance(cfg.player.vlc_args)
    except ConfigError as exc:
        return False, f"{exc.problems[0]} -- fix: correct or remove that entry"
    instance.release()
    problem = audio_output_problem(cfg.player.vlc_args)
    if problem is not None:
        return False, f"{problem} -- fix: `aplay -l` lists the cards; name one of them (or leave the output out)"
    return True, f"libVLC {vlc.libvlc_get_version().decode()}"


def _check_broker(cfg: Config) -> tuple[bool, str]:
    """Log in exactly as the daemon does (same client settings: user, password, password file,
    TLS), under a client id of its own so that a running daemon is not disconnected."""
    if not cfg.mqtt.enabled:
        return True, "disabled in config (mqtt.enabled: false)"
    import aiomqtt

    where = f"{cfg.mqtt.host}:{cfg.mqtt.port}"
    # paho logs socket errors through aiomqtt's "mqtt" logger; the message below says it all
    mqtt_log = logging.getLogger("mqtt")
    level = mqtt_log.level
    mqtt_log.setLevel(logging.CRITICAL)
    try:
        refused = asyncio.run(_log_in(cfg))
    except OSError as exc:  # the password, CA, certificate or key file
        name = printable(str(exc.filename)) if exc.filename else "a file named in mqtt.*"
        return False, f"cannot read {name}: {exc.strerror or exc} -- fix: make it readable by the daemon's user"
    except aiomqtt.MqttCodeError as exc:
        return False, (f"{where} refused the login: {exc} -- fix: mqtt.username and mqtt.password / "
                       "mqtt.password_file (or $MOODSHUFFLE_MQTT_PASSWORD) must match the broker's password_file")
    except aiomqtt.MqttError as exc:
        return False, f"cannot log in to {where}: {exc} -- fix: {_broker_hint(cfg, str(exc))}"
    finally:
        mqtt_log.setLevel(level)
    if refused is not None:
        from moodshuffle.report.payloads import base_topic

        return False, (f"{where} refuses this daemon's publishes: {refused} -- fix: the broker's acl_file must let "
                       f"{cfg.mqtt.username or 'anonymous clients'} write {base_topic(cfg.mqtt, cfg.device_id)}/#")
    how = " over TLS" if cfg.mqtt.tls else ""
    return True, f"logged in to {where}{how} as {cfg.mqtt.username or 'anonymous'}"


async def _log_in(cfg: Config) -> str | None:
    """Log in and publish one QoS 1 message under the daemon's topics; why the broker refused
    it (its ACL), or None."""
    from moodshuffle.report.mqtt import _client
    from moodshuffle.report.payloads import base_topic
    from moodshuffle.report.refusals import watch_refusals

    refused: list[str] = []
    async with _client(cfg.mqtt, cfg.device_id, suffix="-doctor") as client:
        watch_refusals(client, refused.append)
        await client.publish(f"{base_topic(cfg.mqtt, cfg.device_id)}/doctor", "check", qos=1)
    return refused[0] if refused else None


def _broker_hint(cfg: Config, reason: str) -> str:
    if "SSL" in reason or "certificate" in reason:
        if cfg.mqtt.tls:
            return "mqtt.ca_file must name the CA that signed the broker's certificate (and the host its name)"
        return "the listener speaks TLS: set mqtt.tls: true and mqtt.ca_file"
    if "timed out" in reason and not cfg.mqtt.tls:
        return "no MQTT answer: if this listener is TLS-only, set mqtt.tls: true and mqtt.ca_file"
    if "timed out" in reason:
        return "no TLS answer: is this a plain (non-TLS) listener? then set mqtt.tls: false"
    return ("is Mosquitto running (`systemctl status mosquitto`) on that host and port? "
            "(the daemon keeps playing and reconnects)")


def _check_library(cfg: Config) -> tuple[bool, str]:
    missing = [printable(str(p)) for p in cfg.library.resolved_paths() if not p.is_dir()]
    if missing:
        return False, (f"library.paths not found: {', '.join(missing)} -- fix: set library.paths to your music "
                       "(or mount the disk; the index keeps its tracks meanwhile)")
    index = cfg.library.resolved_index_path()
    from moodshuffle.library.storage import storage_problem

    problem = storage_problem(index)
    if problem is not None:
        return False, problem
    if not index.exists():
        return False, (f"no index at {printable(str(index))} -- fix: run `moodshuffle scan` (the daemon also scans "
                       "on start)")
    return True, f"index {printable(str(index))}"


CHECKS: list[tuple[str, Callable[[Config], tuple[bool, str]]]] = [
    ("models", _check_models),
    ("camera", _check_camera),
    ("microphone", _check_microphone),
    ("player", _check_player),
    ("broker", _check_broker),
    ("library", _check_library),
]


@dataclass(frozen=True)
class CheckResult:
    """One check: ``name`` from CHECKS; ``message`` says what was found and, when it failed,
    how to fix it after " -- fix: "."""

    name: str
    ok: bool
    message: str


def run_checks(cfg: Config, names: Collection[str] | None = None) -> list[CheckResult]:
    """Run the checks in ``names`` (default: all), in CHECKS order. A crashing check fails
    with the exception as its message instead of hiding the others."""
    results = []
    for name, check in CHECKS:
        if names is not None and name not in names:
            continue
        try:
            ok, message = check(cfg)
        except Exception as exc:
            ok, message = False, f"check crashed: {exc!r}"
        results.append(CheckResult(name, ok, message))
    return results


def doctor(cfg: Config) -> int:
    """Run every check, print one line each; exit status 1 when any failed."""
    results = run_checks(cfg)
    for r in results:
        print(f"{'ok  ' if r.ok else 'FAIL'} {r.name:<11} {r.message}")
    failed = sum(not r.ok for r in results)
    print("all checks passed" if not failed else f"{failed} check(s) failed")
    return 1 if failed else 0


def _everything(line: str) -> bool:
    return True
