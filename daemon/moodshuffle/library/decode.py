"""Decode audio files to mono float32 at a given sample rate, reading only the windows asked for.

libsndfile (through soundfile) reads wav, flac, ogg/vorbis, opus and mp3 and can seek, so a
long track costs only the windows analysed; formats it cannot read (m4a/aac, ...) go through
``ffmpeg``.
"""

from __future__ import annotations

import shutil
import subprocess
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

AUDIO_EXTENSIONS = frozenset({".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".mp4", ".wav", ".wma"})


class DecodeError(RuntimeError):
    """The file cannot be decoded (corrupt, truncated, unsupported); the message says why."""


def _to_mono_rate(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    audio = audio.astype(np.float32, copy=False)
    if rate != target:
        g = gcd(rate, target)
        audio = resample_poly(audio, target // g, rate // g).astype(np.float32)
    return audio


def duration_s(path: Path) -> float:
    """Length of the file in seconds (0 when it cannot be known without decoding)."""
    try:
        info = sf.info(str(path))
        return float(info.frames) / info.samplerate if info.frames > 0 else 0.0
    except (sf.LibsndfileError, RuntimeError, OSError):
        return 0.0


def decode_windows(path: Path, rate: int, window_s: float, count: int) -> list[np.ndarray]:
    """Up to ``count`` windows of ``window_s`` seconds spread evenly over the file, mono float32
    at ``rate`` Hz. A file shorter than one window gives one (shorter) window. Raises DecodeError."""
    try:
        with sf.SoundFile(str(path)) as f:
            sr, frames = f.samplerate, f.frames
            win = int(window_s * sr)
            if frames <= 0:
                raise DecodeError("no audio frames")
            starts = _spread(frames, win, count)
            out = []
            for start in starts:
                f.seek(start)
                chunk = f.read(win, dtype="float32", always_2d=True)
                if len(chunk) == 0:
                    break
                out.append(_to_mono_rate(chunk, sr, rate))
        if not out or not np.isfinite(out[0]).all():
            raise DecodeError("decoded no valid samples")
        return out
    except sf.LibsndfileError as exc:
        if "unknown format" in str(exc).lower() or "format not recognised" in str(exc).lower():
            return _ffmpeg_windows(path, rate, window_s, count)
        raise DecodeError(f"libsndfile: {exc}") from exc
    except (RuntimeError, ValueError, OSError) as exc:
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"{type(exc).__name__}: {exc}") from exc


def _spread(total: int, win: int, count: int) -> list[int]:
    if total <= win or count <= 1:
        return [max(0, (total - win) // 2)] if total > win else [0]
    return [int(s) for s in np.linspace(0, total - win, count).round()]


def _ffmpeg_windows(path: Path, rate: int, window_s: float, count: int) -> list[np.ndarray]:
    if shutil.which("ffmpeg") is None:
        raise DecodeError("format not supported by libsndfile and ffmpeg is not installed")
    proc = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"],
        capture_output=True, timeout=300,
    )
    if proc.returncode != 0 or not proc.stdout:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()
        raise DecodeError(f"ffmpeg: {reason[-1] if reason else 'no audio'}")
    audio = np.frombuffer(proc.stdout, np.float32)
    win = int(window_s * rate)
    return [audio[s : s + win] for s in _spread(len(audio), win, count)]
