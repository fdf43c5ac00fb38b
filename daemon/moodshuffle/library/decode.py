"""Decode audio files to mono float32 at a given sample rate, reading only the windows asked for.

libsndfile (through soundfile) reads wav, flac, ogg/vorbis, opus and mp3 and can seek, so a
long track costs only the windows analysed; formats it cannot read (m4a/aac, ...) go through
``ffmpeg``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.lib.stride_tricks import sliding_window_view

AUDIO_EXTENSIONS = frozenset({".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".mp4", ".wav", ".wma"})


class DecodeError(RuntimeError):
    """The file cannot be decoded (corrupt, truncated, unsupported); the message says why."""


def _kaiser_lowpass(numtaps: int, cutoff: float, beta: float = 5.0) -> np.ndarray:
    m = np.arange(numtaps) - (numtaps - 1) / 2
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(numtaps, beta)
    return np.asarray(h / h.sum(), np.float64)


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Polyphase resampling, numerically the same as ``scipy.signal.resample_poly`` (Kaiser
    window, beta 5, 10 zero crossings), which the models were trained with; numpy only, because
    importing scipy.signal costs the daemon about 77 MB of resident memory."""
    g = gcd(rate, target)
    up, down = target // g, rate // g
    if up == down == 1:
        return x.astype(np.float32)
    max_rate = max(up, down)
    half_len = 10 * max_rate
    h = _kaiser_lowpass(2 * half_len + 1, 1.0 / max_rate) * up
    n_out = len(x) * up // down + bool(len(x) * up % down)
    n_pre_pad = down - half_len % down
    n_pre_remove = (half_len + n_pre_pad) // down
    h = np.concatenate([np.zeros(n_pre_pad), h]).astype(np.float32)
    k = np.arange(n_pre_remove, n_pre_remove + n_out)
    x = x.astype(np.float32)
    if up == 1:  # plain decimation: one convolution, every down-th sample
        full = np.convolve(x, h)
        idx = k * down
        full = np.concatenate([full, np.zeros(max(0, int(idx[-1]) + 1 - len(full)), np.float32)])
        return full[idx]
    taps = -(-len(h) // up)
    phases = np.zeros(taps * up, np.float32)
    phases[: len(h)] = h
    phases = phases.reshape(taps, up)[::-1]  # phases[:, p]: the taps of phase p, reversed
    n = k * down
    phase, base = n % up, n // up
    windows = sliding_window_view(np.concatenate([np.zeros(taps, np.float32), x, np.zeros(taps, np.float32)]), taps)
    out = np.empty(n_out, np.float32)
    for p in np.unique(phase):
        sel = np.nonzero(phase == p)[0]
        out[sel] = windows[base[sel] + 1] @ phases[:, p]
    return out


def _to_mono_rate(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    return resample(audio.astype(np.float32, copy=False), rate, target)


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
        raise DecodeError(f"libsndfile: {_sndfile_reason(exc)}") from exc
    except (RuntimeError, ValueError, OSError) as exc:
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"{type(exc).__name__}: {exc}") from exc


def _sndfile_reason(exc: sf.LibsndfileError) -> str:
    """libsndfile's reason without the file name (the caller names the file, escaped)."""
    reason: str = exc.error_string
    # libsndfile says this for any file it cannot recognise; the scanner only hands it existing
    # regular files, so here it means the content is not audio it knows (or is corrupt)
    if "possibly a pipe" in reason:
        return "not an audio format it recognises (corrupt or mislabelled?)"
    return reason


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
        # ffmpeg starts its message with the file name, which may hold a newline; the caller names the file
        reason = proc.stderr.replace(os.fsencode(path), b"").decode(errors="replace").strip().splitlines()
        raise DecodeError(f"ffmpeg: {reason[-1].lstrip(': ') if reason else 'no audio'}")
    audio = np.frombuffer(proc.stdout, np.float32)
    win = int(window_s * rate)
    return [audio[s : s + win] for s in _spread(len(audio), win, count)]
