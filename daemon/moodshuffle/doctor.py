"""``moodshuffle doctor``: check camera, microphone, VLC, broker and models; say how to fix."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import sys
from collections.abc import Callable
from pathlib import Path

from moodshuffle.config import Config


@contextlib.contextmanager
def _quiet_stderr():
    """ALSA and V4L print pages of warnings on fd 2 while probing; hide them."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def _check_models(cfg: Config) -> tuple[bool, str]:
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
    if problems:
        return False, "; ".join(problems) + " -- fix: point models.* at the files shipped in models/"
    return True, f"all {len(names) + bool(cfg.models.face_tuning)} model files load"


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
    with _quiet_stderr():
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
        with _quiet_stderr():
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


def _check_vlc(cfg: Config) -> tuple[bool, str]:
    try:
        import vlc

        instance = vlc.Instance(cfg.player.vlc_args)
    except (ImportError, OSError, NameError) as exc:
        return False, f"libVLC not usable: {exc} -- fix: sudo apt install vlc-bin vlc-plugin-base"
    if instance is None:
        return False, f"libVLC rejected player.vlc_args {cfg.player.vlc_args} -- fix: check them with `cvlc --help`"
    version = vlc.libvlc_get_version().decode()
    instance.release()
    return True, f"libVLC {version}"


def _check_broker(cfg: Config) -> tuple[bool, str]:
    if not cfg.mqtt.enabled:
        return True, "disabled in config (mqtt.enabled: false)"
    try:
        with socket.create_connection((cfg.mqtt.host, cfg.mqtt.port), timeout=3) as sock:
            if cfg.mqtt.tls:
                context = ssl.create_default_context(cafile=cfg.mqtt.ca_file)
                with context.wrap_socket(sock, server_hostname=cfg.mqtt.host):
                    pass
    except (OSError, ssl.SSLError) as exc:
        return False, (f"cannot reach {cfg.mqtt.host}:{cfg.mqtt.port}: {exc} -- fix: is Mosquitto running "
                       "(`systemctl status mosquitto`)? (the daemon keeps playing and reconnects)")
    return True, f"{cfg.mqtt.host}:{cfg.mqtt.port} reachable"


def _check_library(cfg: Config) -> tuple[bool, str]:
    missing = [str(p) for p in cfg.library.resolved_paths() if not p.is_dir()]
    if missing:
        return False, f"library.paths not found: {', '.join(missing)} -- fix: set library.paths to your music"
    index = cfg.library.resolved_index_path()
    if not index.exists():
        return False, f"no index at {index} -- fix: run `moodshuffle scan` (the daemon also scans on start)"
    return True, f"index {index}"


CHECKS: list[tuple[str, Callable[[Config], tuple[bool, str]]]] = [
    ("models", _check_models),
    ("camera", _check_camera),
    ("microphone", _check_microphone),
    ("vlc", _check_vlc),
    ("broker", _check_broker),
    ("library", _check_library),
]


def doctor(cfg: Config) -> int:
    """Run every check, print one line each; exit status 1 when any failed."""
    failed = 0
    for name, check in CHECKS:
        try:
            ok, message = check(cfg)
        except Exception as exc:  # a check must never hide the others
            ok, message = False, f"check crashed: {exc!r}"
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name:<11} {message}")
    print("all checks passed" if not failed else f"{failed} check(s) failed")
    return 1 if failed else 0
