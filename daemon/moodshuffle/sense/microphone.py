"""The room's microphone: PyAudio or a file played in real time, into a bounded ring buffer
analysed every ``CHUNK_S`` seconds in a worker thread.

Privacy: audio exists only in the ring buffer (``RING_S`` seconds) and the chunk being
analysed; nothing is written or published but the VoiceObservations' numbers. ``set_enabled
(False)`` (or the controller's ``SensorSwitched``) closes the device. A missing or busy device
is ``unavailable`` and retried with back-off (1 s doubling to 60 s). What the audio means is
the analyzer's business (``perceive.voice.VoiceAnalyzer``), handed in like the camera's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from moodshuffle.config import MicrophoneConfig
from moodshuffle.core import CoreListener, Sensor, SensorSwitched, StageStatus
from moodshuffle.domain.observations import Observation, VoiceObservation
from moodshuffle.library.decode import AUDIO_EXTENSIONS
from moodshuffle.perceive.voice_features import SAMPLE_RATE
from moodshuffle.sense.probe_noise import filtered_stderr
from moodshuffle.supervise import Backoff

log = logging.getLogger("moodshuffle.microphone")

CHUNK_S = 4.0
RING_S = 8.0
BLOCK = 1600  # 100 ms


class MicrophoneUnavailable(RuntimeError):
    """No such input device, busy, or the file cannot be read."""


class AudioSource(Protocol):
    def open(self) -> None: ...
    def read(self) -> np.ndarray: ...  # next block of 16 kHz mono float32 (blocks until there)
    def close(self) -> None: ...


class ChunkAnalyzer(Protocol):
    """What the listener needs of ``perceive.voice.VoiceAnalyzer``."""

    def listen(self, chunk: np.ndarray, end_time: float) -> list[VoiceObservation]: ...


_ChunkQueue = asyncio.Queue[tuple[np.ndarray, float]]

_ALSA_HANDLER = None


def _silence_alsa() -> None:
    """Give ALSA a no-op error handler: PortAudio's device probing otherwise prints pages of
    warnings. (Redirecting fd 2 instead would also swallow other threads' log lines.)"""
    global _ALSA_HANDLER
    if _ALSA_HANDLER is not None:
        return
    try:
        asound = ctypes.cdll.LoadLibrary("libasound.so.2")
    except OSError:
        return
    prototype = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p)
    _ALSA_HANDLER = prototype(lambda *args: None)  # kept referenced for the life of the process
    asound.snd_lib_error_set_handler(_ALSA_HANDLER)


class PyAudioSource:
    """A PortAudio input device: "default", an index, or part of the device name."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._pa = None
        self._stream = None

    def _index(self, pa: Any) -> int | None:  # pyaudio.PyAudio (untyped)
        inputs = [i for i in range(pa.get_device_count()) if pa.get_device_info_by_index(i)["maxInputChannels"] > 0]
        if not inputs:
            raise MicrophoneUnavailable("no audio input device")
        if self.device == "default":
            return None
        if self.device.isdigit():
            if int(self.device) not in inputs:
                raise MicrophoneUnavailable(f"input device {self.device} not found")
            return int(self.device)
        for i in inputs:
            if self.device.lower() in pa.get_device_info_by_index(i)["name"].lower():
                return i
        raise MicrophoneUnavailable(f"no input device named like {self.device!r}")

    def open(self) -> None:
        _silence_alsa()
        import pyaudio

        with filtered_stderr():  # the ALSA handler above cannot reach JACK's probe messages
            self._pa = pa = pyaudio.PyAudio()
        try:
            index = self._index(pa)
            self._stream = pa.open(format=pyaudio.paInt16, channels=1, rate=SAMPLE_RATE, input=True,
                                   frames_per_buffer=BLOCK, input_device_index=index)
        except (OSError, MicrophoneUnavailable) as exc:
            self.close()
            raise MicrophoneUnavailable(str(exc)) from exc

    def read(self) -> np.ndarray:
        if self._stream is None:
            raise MicrophoneUnavailable("microphone not open")
        try:
            raw = self._stream.read(BLOCK, exception_on_overflow=False)
        except OSError as exc:
            raise MicrophoneUnavailable(f"microphone read failed: {exc}") from exc
        return np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0

    def close(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(OSError):
                self._stream.stop_stream()
                self._stream.close()
            self._stream = None
        if self._pa is not None:
            self._pa.terminate()
            self._pa = None


class FileAudioSource:
    """A WAV/OGG/Opus file played through the pipeline in real time (tests and demos)."""

    def __init__(self, path: Path, loop: bool) -> None:
        self.path = path
        self.loop = loop
        self._audio: np.ndarray | None = None
        self._pos = 0
        self._next = 0.0

    def open(self) -> None:
        from moodshuffle.library.decode import DecodeError, decode_windows

        try:
            (audio,) = decode_windows(self.path, SAMPLE_RATE, 24 * 3600, 1)
        except (DecodeError, OSError) as exc:
            raise MicrophoneUnavailable(f"{self.path}: {exc}") from exc
        self._audio, self._pos, self._next = audio, 0, time.monotonic()

    def read(self) -> np.ndarray:
        if self._audio is None:
            raise MicrophoneUnavailable("file not open")
        if self._pos >= len(self._audio):
            if not self.loop:
                raise MicrophoneUnavailable(f"{self.path} ended")
            self._pos = 0
        block = self._audio[self._pos : self._pos + BLOCK]
        self._pos += BLOCK
        self._next += BLOCK / SAMPLE_RATE
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return block

    def close(self) -> None:
        self._audio = None


def open_source(cfg: MicrophoneConfig) -> AudioSource:
    path = Path(cfg.source).expanduser()
    if cfg.source != "default" and not cfg.source.isdigit() and path.suffix.lower() in AUDIO_EXTENSIONS:
        return FileAudioSource(path, cfg.loop)
    return PyAudioSource(cfg.source)


class VoiceListener(CoreListener):
    """Capture thread -> ring buffer -> analysis thread -> VoiceObservations on the event loop."""

    def __init__(self, microphone: MicrophoneConfig, analyzer: ChunkAnalyzer,
                 on_status: Callable[[StageStatus], None] | None = None) -> None:
        self.cfg = microphone
        self.analyzer = analyzer
        self.on_status = on_status
        self.status = StageStatus.OFF
        self.last_alive = time.monotonic()
        self._enabled = microphone.enabled
        self._gain = 10 ** (microphone.gain_db / 20)
        # the ring buffer: the last RING_S seconds as 100 ms blocks (old blocks fall out)
        self._ring: deque[np.ndarray] = deque(maxlen=int(RING_S * SAMPLE_RATE / BLOCK))
        self._stop = threading.Event()
        self._poke = threading.Event()  # wakes the capture thread from a back-off wait
        self.dropped_chunks = 0

    def set_enabled(self, on: bool) -> None:
        """OFF closes the device (at the latest after the block being read)."""
        self._enabled = on
        self._poke.set()

    def sensor_switched(self, event: SensorSwitched) -> None:
        if event.sensor == Sensor.MICROPHONE:
            self.set_enabled(event.on)

    def _set_status(self, status: StageStatus) -> None:
        if status != self.status:
            (log.warning if status == StageStatus.UNAVAILABLE else log.info)("microphone %s", status)
            self.status = status
            if self.on_status is not None:
                self.on_status(status)

    def _offer(self, chunks: _ChunkQueue, item: tuple[np.ndarray, float]) -> None:
        """Queue a chunk for analysis; when analysis lags (a busy CPU), drop the oldest one."""
        if chunks.full():
            chunks.get_nowait()
            self.dropped_chunks += 1
            if self.dropped_chunks in (1, 10) or self.dropped_chunks % 100 == 0:
                log.warning("voice analysis is lagging: %d audio chunks dropped so far", self.dropped_chunks)
        chunks.put_nowait(item)

    def _capture(self, loop: asyncio.AbstractEventLoop, chunks: _ChunkQueue) -> None:
        """Capture thread: read blocks, keep the ring buffer, hand a chunk over every CHUNK_S."""
        backoff = Backoff()
        source: AudioSource | None = None
        since_chunk = 0
        while not self._stop.is_set():
            if not self._enabled:
                if source is not None:
                    source.close()
                    source = None
                loop.call_soon_threadsafe(self._set_status, StageStatus.OFF)
                self._stop.wait(0.2)
                continue
            try:
                if source is None:
                    source = open_source(self.cfg)
                    source.open()
                    backoff.reset()
                    loop.call_soon_threadsafe(self._set_status, StageStatus.ON)
                block = source.read() * self._gain
            except MicrophoneUnavailable as exc:
                if source is not None:
                    source.close()
                    source = None
                loop.call_soon_threadsafe(self._set_status, StageStatus.UNAVAILABLE)
                delay = backoff.next_delay()
                log.debug("%s; retrying in %.0f s", exc, delay)
                self._poke.wait(delay)
                self._poke.clear()
                continue
            self._ring.append(block)
            since_chunk += 1
            if since_chunk * BLOCK >= CHUNK_S * SAMPLE_RATE:
                chunk = np.concatenate(list(self._ring)[-since_chunk:])
                since_chunk = 0
                loop.call_soon_threadsafe(self._offer, chunks, (chunk, time.monotonic()))
        if source is not None:
            source.close()

    async def run(self, emit: Callable[[Observation], None]) -> None:
        """Listen until cancelled; the device is closed on the way out."""
        loop = asyncio.get_running_loop()
        chunks: _ChunkQueue = asyncio.Queue(maxsize=4)
        self._stop.clear()
        capture = threading.Thread(target=self._capture, args=(loop, chunks), name="microphone", daemon=True)
        capture.start()
        try:
            while True:
                self.last_alive = time.monotonic()
                try:
                    chunk, end_time = await asyncio.wait_for(chunks.get(), timeout=5.0)
                except TimeoutError:
                    continue
                observations = await asyncio.to_thread(self.analyzer.listen, chunk, end_time)
                del chunk
                for obs in observations:
                    emit(obs)
        finally:
            self._stop.set()
            self._poke.set()
            await asyncio.to_thread(capture.join, 3)
