"""The sampling loop: one frame every ``camera.interval_s``, analysed in a worker thread.

A camera that cannot be opened or stops delivering is reported ``unavailable`` and reopened
with exponential back-off (1 s doubling to 60 s). ``set_enabled(False)`` (or the controller's
``SensorSwitched``) releases the device (privacy: released, not just ignored). Frames live only
inside ``_sample``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from moodshuffle.config import CameraConfig
from moodshuffle.core import CoreListener, Sensor, SensorSwitched, StageStatus
from moodshuffle.domain.observations import FaceObservation, NobodySeen, Observation
from moodshuffle.sense.camera import CameraUnavailable, FrameSource, open_source
from moodshuffle.supervise import Backoff

log = logging.getLogger("moodshuffle.camera")


class FrameAnalyzer(Protocol):
    """What the sampler needs of an analyser: ``perceive.watch.RoomWatch`` in the daemon (the
    full search of ``perceive.faces.FaceAnalyzer`` only when the room asks for it)."""

    def analyze(self, frame_bgr: np.ndarray, timestamp: float) -> list[FaceObservation]: ...


class FaceSampler(CoreListener):
    """Runs ``analyzer.analyze(frame, timestamp)`` on the newest frame every interval and emits
    its FaceObservations, or one NobodySeen when the frame holds no face.

    ``status``: ON (sampling), OFF (disabled, device released) or unavailable (cannot open or
    read; retried with back-off); ``on_status(status)`` is called on each change, in the event
    loop. ``last_alive``: monotonic time of the last loop iteration (for the watchdog; while ON it
    is at most ``interval_s`` plus one sample old)."""

    def __init__(self, camera: CameraConfig, analyzer: FrameAnalyzer,
                 on_status: Callable[[StageStatus], None] | None = None) -> None:
        self.cfg = camera
        self.analyzer = analyzer
        self.on_status = on_status
        self.status = StageStatus.OFF
        self.last_alive = time.monotonic()
        self._enabled = camera.enabled
        self._source: FrameSource | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="camera")
        self._wake: asyncio.Event | None = None
        self._debug_frames = 0
        if camera.debug_dir:
            log.warning("DEBUG MODE: annotated camera frames are being written to %s (camera.debug_dir); "
                        "images of the room are stored on disk", camera.debug_dir)

    def set_enabled(self, on: bool) -> None:
        """ON opens the camera at the next sample; OFF releases it as soon as the sample in
        progress (if any) ends and reports status OFF. Call from the event loop's thread."""
        self._enabled = on
        if self._wake is not None:
            self._wake.set()

    def sensor_switched(self, event: SensorSwitched) -> None:
        if event.sensor == Sensor.CAMERA:
            self.set_enabled(event.on)

    def _set_status(self, status: StageStatus, reason: str = "") -> None:
        if status != self.status:
            if status == StageStatus.UNAVAILABLE:
                log.warning("camera %r unavailable (%s); retrying with back-off", self.cfg.source, reason)
            else:
                log.info("camera %s", status)
            self.status = status
            if self.on_status is not None:
                self.on_status(status)

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, seconds))

    async def run(self, emit: Callable[[Observation], None]) -> None:
        """Sample until cancelled; releases the camera on the way out."""
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        backoff = Backoff()
        try:
            while True:
                self.last_alive = time.monotonic()
                if not self._enabled:
                    await loop.run_in_executor(self._executor, self._close)
                    self._set_status(StageStatus.OFF)
                    backoff.reset()
                    await self._sleep(3600)
                    continue
                started = time.monotonic()
                try:
                    if self._source is None:
                        self._source = open_source(self.cfg)
                        await loop.run_in_executor(self._executor, self._source.open)
                    observations = await loop.run_in_executor(self._executor, self._sample, started)
                except ValueError as exc:  # a malformed frame: skip it, the camera itself still works
                    log.warning("camera frame skipped: %s", exc)
                    await self._sleep(self.cfg.interval_s - (time.monotonic() - started))
                    continue
                except CameraUnavailable as exc:
                    await loop.run_in_executor(self._executor, self._close)
                    self._set_status(StageStatus.UNAVAILABLE, str(exc))
                    delay = backoff.next_delay()
                    log.debug("%s; retrying in %.0f s", exc, delay)
                    await self._sleep(delay)
                    continue
                backoff.reset()
                self._set_status(StageStatus.ON)
                for obs in observations:
                    emit(obs)
                if not observations:
                    emit(NobodySeen(started))
                await self._sleep(self.cfg.interval_s - (time.monotonic() - started))
        finally:
            # through the worker: a read still running there must finish before the device goes
            self._executor.submit(self._close)
            self._executor.shutdown(wait=False)

    def _sample(self, timestamp: float) -> list[FaceObservation]:
        assert self._source is not None
        frame = self._source.read()
        observations = self.analyzer.analyze(frame, timestamp)
        if self.cfg.debug_dir:
            self._write_debug(frame, observations)
        return observations

    def _write_debug(self, frame: np.ndarray, observations: list[FaceObservation]) -> None:
        folder = Path(self.cfg.debug_dir or ".")
        folder.mkdir(parents=True, exist_ok=True)
        self._debug_frames += 1
        if self._debug_frames % 100 == 1:
            log.warning("DEBUG MODE: %d camera frames written to %s", self._debug_frames, folder)
        annotated = frame.copy()
        for i, obs in enumerate(observations):
            cv2.putText(annotated, f"face {i}: {obs.face_px}px conf {obs.confidence:.2f}", (10, 30 + 25 * i),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 255, 0), 2)
        cv2.imwrite(str(folder / f"frame-{self._debug_frames:06d}.jpg"), annotated)

    def _close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
