"""The wiring: build the controller and its adapters, run the stages under supervision, stop
them cleanly. Nothing else happens here.

    camera (FaceSampler) ------+ observe                    +--> Player: VLC or MPD (reports back)
    microphone (VoiceListener) +--------> Controller -------+--> MqttBridge (commands back)
    library (LibraryStage) ---- tables      ^ tick   events +--> LiveView, SystemdNotifier,
                                                                 the sensing and library stages

The controller (``core``) is pure and synchronous; every adapter is a ``CoreListener``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path

from moodshuffle import __version__
from moodshuffle.config import Config
from moodshuffle.core import Controller, CoreListener, Sensor, StageStatus
from moodshuffle.doctor import CheckResult, run_checks
from moodshuffle.estimate.naming import DepartureNaming, load_naming
from moodshuffle.first_run import startup_advice
from moodshuffle.library.history import ListeningHistory
from moodshuffle.library.storage import explain
from moodshuffle.notify import SystemdNotifier
from moodshuffle.runtime import ModelError
from moodshuffle.sense.sampler import FaceSampler
from moodshuffle.stages import settings
from moodshuffle.stages.library import LibraryStage
from moodshuffle.stages.recorder import HistoryRecorder
from moodshuffle.supervise import in_daemon_thread, supervise

log = logging.getLogger("moodshuffle")

#: the daemon must be gone this long after SIGTERM (systemd's TimeoutStopSec is 10 s)
STOP_BUDGET_S = 4.0
TICK_S = 1.0
#: how long the start-up checks may take before the daemon starts without them
START_CHECKS_S = 10.0

_Stage = Coroutine[object, object, None]


class Daemon:
    def __init__(self, cfg: Config, live: bool = False, config_path: Path | None = None) -> None:
        self.cfg = cfg
        self.config_path = config_path
        self.core = Controller(cfg, time.monotonic(), naming=_mood_naming(cfg))
        self.notifier = SystemdNotifier()
        self._stop = asyncio.Event()
        self.library = LibraryStage(cfg, self.core, self._stop.is_set)
        self.sampler: FaceSampler | None = None
        self._last_tick = time.monotonic()
        for listener in (self.notifier, self.library):
            self.core.add_listener(listener)
        if live:
            from moodshuffle.report.live import LiveView

            self.core.add_listener(LiveView(lambda text: print(text, flush=True)))

    def _hangup(self) -> None:
        log.info("SIGHUP: rescanning the library (the configuration is read at start: restart to apply a change)")
        self.core.rescan()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        # users send SIGHUP expecting a reload; its default action would kill the daemon
        loop.add_signal_handler(signal.SIGHUP, self._hangup)
        # before the camera stage opens the device; the broker is asked in the background
        try:
            # a daemon thread with a deadline: a library on a hung mount must not hold up the start
            # (nor SIGTERM); the library stage then finds the folder unavailable by itself
            local = await asyncio.wait_for(in_daemon_thread(run_checks, self.cfg, ("camera", "library")),
                                           START_CHECKS_S)
        except TimeoutError:
            log.warning("the start-up checks of the camera and the library did not answer within %.0f s"
                        " (a hung network mount?): starting without them", START_CHECKS_S)
            local = [CheckResult("library", False, "not answering (a hung mount?)")]
        try:
            await self.library.open()
            recorder = await self._open_history()
        except (sqlite3.OperationalError, OSError) as exc:  # a read-only folder, a full disk: one line
            problem = explain(exc, self.cfg.library.resolved_index_path())
            if problem is None:
                raise
            raise problem from None
        player = None
        if self.cfg.player.enabled:
            from moodshuffle.act.backend import open_player

            player = open_player(self.cfg.player, self.core, loop)
            self.core.add_listener(player)
        self._restore_settings()
        tasks = [asyncio.create_task(coro, name=name) for name, coro in self._stages()]
        tasks.append(asyncio.create_task(self._advise(local), name="advice"))
        state = self.core.state
        log.info("moodshuffle %s running as %s (policy %s, %d tracks)", __version__, self.cfg.device_id,
                 state.policy, state.library.tracks)
        self.notifier.ready(f"policy {state.policy}, {state.library.tracks} tracks")
        self.core.start()
        await self._stop.wait()
        log.info("stopping")
        self.notifier.stopping()
        deadline = time.monotonic() + STOP_BUDGET_S
        if player is not None:
            await asyncio.to_thread(player.stop)
        # MQTT last: it publishes `offline` when cancelled.
        for task in sorted(tasks, key=lambda t: t.get_name() == "mqtt"):
            task.cancel()
        await asyncio.wait(tasks, timeout=max(0.1, deadline - time.monotonic()))
        if player is not None:
            player.close()
        self.library.close()
        recorder.close()
        log.info("stopped")
        return 0

    def _restore_settings(self) -> None:
        """What the listener commanded before the restart (volume, policy, switches, a set mood),
        given back before any stage starts or anything is published; kept from now on."""
        path = settings.settings_path(self.cfg.library.resolved_index_path())
        settings.restore(self.core, settings.load(path), time.time())
        self.core.add_listener(settings.SettingsKeeper(path, self.core))

    async def _advise(self, local: list[CheckResult]) -> None:
        """Once, at start: the one block of guidance when camera, music or broker is missing."""
        # a daemon thread: a broker that never answers must not hold up SIGTERM
        broker = await in_daemon_thread(run_checks, self.cfg, ("broker",))
        block = startup_advice(self.cfg, [*local, *broker], self.config_path)
        if block is not None:
            log.warning("%s", block)

    async def _open_history(self) -> HistoryRecorder:
        """Restore the listening history into the controller, then record into it."""
        history = await asyncio.to_thread(ListeningHistory, self.cfg.library.resolved_index_path(),
                                          self.cfg.library.history_days, prune_on_open=False)
        plays = await asyncio.to_thread(history.plays)
        feedback = await asyncio.to_thread(history.feedback_records)
        self.core.history_loaded(plays, feedback)
        if plays or feedback:
            log.info("listening history: %d plays, %d likes/dislikes", len(plays), len(feedback))
        loop = asyncio.get_running_loop()

        def failing(reason: str | None) -> None:  # from the writer thread: a state and an event (None: recovered)
            loop.call_soon_threadsafe(self.core.stage_failed, "history", reason)

        recorder = HistoryRecorder(history, failing)
        self.core.add_listener(recorder)
        return recorder

    def _stages(self) -> list[tuple[str, _Stage]]:
        stages: list[tuple[str, _Stage]] = [("mood", self._supervised("mood", self._tick_loop))]
        if self.cfg.camera.enabled:
            stages.append(("camera", self._supervised("camera", self._camera_stage)))
        if self.cfg.microphone.enabled:
            stages.append(("microphone", self._supervised("microphone", self._microphone_stage)))
        if self.cfg.mqtt.enabled:
            from moodshuffle.report.mqtt import MqttBridge

            bridge = MqttBridge(self.cfg.mqtt, self.cfg.device_id, self.core)
            self.core.add_listener(bridge)
            stages.append(("mqtt", self._supervised("mqtt", bridge.run)))
        stages.append(("library", self._supervised("library", self.library.run)))
        if self.notifier.watchdog_interval_s:
            stages.append(("watchdog", self._watchdog_loop(self.notifier.watchdog_interval_s)))
        return stages

    def _supervised(self, name: str, stage: Callable[[], Awaitable[None]]) -> _Stage:
        """``stage`` run by ``supervise``, each failure shown in the state and as an ``error`` event."""
        return supervise(name, stage, on_error=self._stage_failed)

    def _stage_failed(self, name: str, exc: Exception) -> None:
        # a ModelError's message names the file and the reason; a crash is named by its type
        reason = str(exc) if isinstance(exc, ModelError) else f"{type(exc).__name__}: {exc}"
        self.core.stage_failed(name, reason)

    async def _listening(self, listener: CoreListener, stage: _Stage) -> None:
        """Run ``stage`` with ``listener`` hearing the controller meanwhile."""
        self.core.add_listener(listener)
        try:
            await stage
        finally:
            self.core.remove_listener(listener)

    async def _camera_stage(self) -> None:
        from moodshuffle.perceive.faces import FaceAnalyzer
        from moodshuffle.perceive.watch import RoomWatch

        analyzer = await asyncio.to_thread(FaceAnalyzer, self.cfg.camera, self.cfg.models)
        self.sampler = FaceSampler(self.cfg.camera, RoomWatch(analyzer),
                                   on_status=lambda status: self.core.sensor_status(Sensor.CAMERA, status))
        self.sampler.set_enabled(self.core.sensor_wanted(Sensor.CAMERA))
        await self._listening(self.sampler, self.sampler.run(self.core.observe))

    async def _microphone_stage(self) -> None:
        from moodshuffle.perceive.voice import VoiceAnalyzer
        from moodshuffle.sense.microphone import VoiceListener

        analyzer = await asyncio.to_thread(VoiceAnalyzer, Path(self.cfg.models.voice), self.cfg.models.num_threads)
        listener = VoiceListener(self.cfg.microphone, analyzer,
                                 on_status=lambda status: self.core.sensor_status(Sensor.MICROPHONE, status))
        listener.set_enabled(self.core.sensor_wanted(Sensor.MICROPHONE))
        await self._listening(listener, listener.run(self.core.observe))

    async def _tick_loop(self) -> None:
        while True:
            self.core.tick(time.monotonic())
            self._last_tick = time.monotonic()
            await asyncio.sleep(TICK_S)

    async def _watchdog_loop(self, interval_s: float) -> None:
        """Ping systemd only while the sampling loop (and the mood loop) are alive."""
        while True:
            await asyncio.sleep(interval_s)
            now = time.monotonic()
            alive = now - self._last_tick < 10 * TICK_S
            if self.sampler is not None and self.sampler.status == StageStatus.ON:
                alive = alive and now - self.sampler.last_alive < max(30.0, 3 * self.cfg.camera.interval_s)
            if alive:
                self.notifier.watchdog()
            else:
                log.error("a loop stalled: not pinging the watchdog")


def _mood_naming(cfg: Config) -> DepartureNaming | None:
    """The mood naming file; a broken one is an ERROR line and the label reads the departure as
    the expression model splits it (the mood itself is unchanged)."""
    try:
        return load_naming(cfg.models)
    except ModelError as exc:
        log.error("models.mood_naming: %s -- the mood label names departures as the expression model "
                  "splits them; fix: point models.mood_naming at models/mood_naming.json", exc)
        return None


def run(cfg: Config, live: bool = False, config_path: Path | None = None) -> int:
    """``moodshuffle run``: run until SIGTERM/SIGINT; 0 on a clean stop. ``config_path``: the
    file the config came from (named in the first-run guidance)."""
    return asyncio.run(Daemon(cfg, live=live, config_path=config_path).run())


def remove_discovery(cfg: Config) -> int:
    """``moodshuffle run --remove-discovery``: clear the Home Assistant entries, then exit."""
    from moodshuffle.report.mqtt import remove_discovery as _remove

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_remove(cfg.mqtt, cfg.device_id))
    return 0
