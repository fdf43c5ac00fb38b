"""The wiring: build the stages, run them under supervision, stop them cleanly.

This is the one module that knows every stage. Data flows one way:
sense/perceive (camera, microphone) -> estimate (MoodEstimator) -> decide (rank_upcoming)
-> act (VlcPlayer); report (MqttBridge) sees only the state dict and events this module
hands it, and calls back through the CommandHandler methods below.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from moodshuffle import __version__
from moodshuffle.config import POLICIES, Config
from moodshuffle.decide.ranking import PlayHistory, UpcomingTrack, rank_upcoming
from moodshuffle.emotions import EMOTIONS
from moodshuffle.estimate.mood import MoodEstimator, MoodState
from moodshuffle.library.table import TrackTable
from moodshuffle.notify import SystemdNotifier
from moodshuffle.observations import Observation
from moodshuffle.supervise import in_daemon_thread, supervise

log = logging.getLogger("moodshuffle")

#: the daemon must be gone this long after SIGTERM (systemd's TimeoutStopSec is 10 s)
STOP_BUDGET_S = 4.0
TICK_S = 1.0


class Daemon:
    """Owns the mood state, the policy and the queue; implements the MQTT CommandHandler."""

    def __init__(self, cfg: Config, live: Callable[[str], None] | None = None) -> None:
        self.cfg = cfg
        self.live = live
        self.policy = cfg.mood.policy
        self.estimator = MoodEstimator(cfg.mood)
        self.mood: MoodState = self.estimator.update(time.monotonic())
        self.history = PlayHistory()
        self.table = TrackTable.empty()
        self.upcoming: list[UpcomingTrack] = []
        #: the policy target of the track playing now, so uplift/calm journeys go on across reorders
        self.current_target: tuple[float, float] | None = None
        self.rng = np.random.default_rng()
        self.scanning = False
        self.index: Any = None
        self.sampler: Any = None
        self.listener: Any = None
        self.player: Any = None
        self.bridge: Any = None
        self.notifier = SystemdNotifier()
        self._last_tick = time.monotonic()
        self._rescan = asyncio.Event()
        self._stop = asyncio.Event()
        self._state_dirty = True
        self._reload: asyncio.Future[None] | None = None

    # ----------------------------------------------------------------- lifecycle
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        await self._open_library()
        self._open_player(loop)
        if self.cfg.mqtt.enabled:
            from moodshuffle.report.mqtt import MqttBridge

            self.bridge = MqttBridge(self.cfg.mqtt, self.cfg.device_id, self)
        tasks = [asyncio.create_task(coro, name=name) for name, coro in self._stages()]
        log.info("moodshuffle %s running as %s (policy %s, %d tracks)", __version__, self.cfg.device_id,
                 self.policy, len(self.table))
        self.notifier.ready(f"policy {self.policy}, {len(self.table)} tracks")
        self._reorder("start")
        await self._stop.wait()
        log.info("stopping")
        self.notifier.stopping()
        await self._shutdown(tasks)
        return 0

    def _stages(self) -> list[tuple[str, Any]]:
        stages: list[tuple[str, Any]] = [("mood", supervise("mood", self._tick_loop))]
        if self.cfg.camera.enabled:
            stages.append(("camera", supervise("camera", self._camera_stage)))
        if self.cfg.microphone.enabled:
            stages.append(("microphone", supervise("microphone", self._microphone_stage)))
        if self.cfg.mqtt.enabled:
            stages.append(("mqtt", supervise("mqtt", self._mqtt_stage)))
        stages.append(("library", supervise("library", self._library_stage)))
        if self.notifier.watchdog_interval_s:
            stages.append(("watchdog", self._watchdog_loop(self.notifier.watchdog_interval_s)))
        return stages

    async def _shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        deadline = time.monotonic() + STOP_BUDGET_S
        if self.player is not None:
            await asyncio.to_thread(self.player.stop)
        for task in tasks:
            if task.get_name() != "mqtt":
                task.cancel()
        # MQTT last: it publishes `offline` when cancelled.
        for task in tasks:
            if task.get_name() == "mqtt":
                task.cancel()
        await asyncio.wait(tasks, timeout=max(0.1, deadline - time.monotonic()))
        if self.player is not None:
            self.player.close()
        if self.index is not None:
            self.index.close()
        log.info("stopped")

    # ----------------------------------------------------------------- stages
    async def _camera_stage(self) -> None:
        from moodshuffle.perceive.faces import FaceAnalyzer
        from moodshuffle.sense.sampler import FaceSampler

        analyzer = await asyncio.to_thread(FaceAnalyzer, self.cfg.camera, self.cfg.models)
        self.sampler = FaceSampler(self.cfg.camera, analyzer, on_status=lambda _: self._changed())
        await self.sampler.run(self.observe)

    async def _microphone_stage(self) -> None:
        from moodshuffle.sense.microphone import VoiceListener

        self.listener = await asyncio.to_thread(VoiceListener, self.cfg.microphone, self.cfg.models,
                                                lambda _: self._changed())
        await self.listener.run(self.observe)

    async def _mqtt_stage(self) -> None:
        self.bridge.publish_state(self.snapshot())
        await self.bridge.run()

    async def _library_stage(self) -> None:
        """Background scans: on start (if configured), on schedule, on command."""
        interval = self.cfg.library.rescan_interval_h * 3600
        if not self.cfg.library.scan_on_start:
            await self._wait_rescan(interval)
        while True:
            await self._scan()
            await self._wait_rescan(interval)

    async def _wait_rescan(self, interval_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._rescan.wait(), timeout=interval_s or None)
        self._rescan.clear()

    async def _tick_loop(self) -> None:
        while True:
            self._tick(time.monotonic())
            self._last_tick = time.monotonic()
            await asyncio.sleep(TICK_S)

    async def _watchdog_loop(self, interval_s: float) -> None:
        """Ping systemd only while the sampling loop (and the mood loop) are alive."""
        while True:
            await asyncio.sleep(interval_s)
            now = time.monotonic()
            alive = now - self._last_tick < 10 * TICK_S
            if self.sampler is not None and self.sampler.status == "ON":
                alive = alive and now - self.sampler.last_alive < max(30.0, 3 * self.cfg.camera.interval_s)
            if alive:
                self.notifier.watchdog()
            else:
                log.error("a loop stalled: not pinging the watchdog")

    # ----------------------------------------------------------------- library
    async def _open_library(self) -> None:
        from moodshuffle.library.index import TrackIndex

        path = self.cfg.library.resolved_index_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.index = await asyncio.to_thread(TrackIndex, path)
        self.table = await asyncio.to_thread(self.index.load_table)
        if len(self.table) == 0:
            log.warning("the library index %s has no playable tracks yet: waiting for a scan of %s", path,
                        ", ".join(self.cfg.library.paths))

    async def _reload_table(self) -> None:
        self.table = await asyncio.to_thread(self.index.load_table)
        self._changed()

    async def _scan(self) -> None:
        from moodshuffle.library.scanner import scan_library

        self.scanning = True
        self._changed()
        stop = self._stop.is_set
        try:
            # a daemon thread: a read stuck on a hung mount must not hold up SIGTERM
            report = await in_daemon_thread(scan_library, self.cfg.library, self.cfg.models, None, stop)
            log.info("library scan: %s", report)
            self.table = await asyncio.to_thread(self.index.load_table)
        finally:
            self.scanning = False
            self._changed()
        if self.player is not None and not self.player.upcoming:
            self._reorder("library")

    # ----------------------------------------------------------------- player
    def _open_player(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self.cfg.player.enabled:
            return
        from moodshuffle.act.player import VlcPlayer

        self.player = VlcPlayer(self.cfg.player, loop)
        self.player.track_started = self._on_track_started
        self.player.track_failed = self._on_track_failed
        self.player.skipped = self._on_skipped
        self.player.queue_empty = lambda: self._reorder("queue empty")
        self.player.set_volume(self.cfg.player.volume)

    def _on_track_started(self, track: Any) -> None:
        self.history.record_play(track.track_id)
        chosen = next((u for u in self.upcoming if u.track_id == track.track_id), None)
        self.current_target = chosen.target if chosen is not None else None
        log.info("now playing: %s - %s", track.artist or "?", track.title or track.path)
        self._event({"type": "track_started", "track": _track_dict(track)})
        self._reorder("track started")

    def _on_track_failed(self, track: Any, reason: str) -> None:
        log.warning("cannot play %s: %s (skipped, marked failed in the index)", track.path, reason)
        if self.index is not None:
            self.index.mark_failed(track.path, reason)
            # the failed track leaves the in-memory table too, so it is never chosen again
            self._reload = asyncio.ensure_future(self._reload_table())
        self._event({"type": "error", "source": "player", "path": track.path, "reason": reason})

    def _on_skipped(self, track: Any, position_s: float) -> None:
        self.history.record_skip(track.track_id, self.mood.label)
        log.info("skipped after %.0f s: %s (a dislike in mood %s)", position_s, track.title, self.mood.label)

    def _reorder(self, reason: str) -> None:
        if self.player is None or len(self.table) == 0:
            return
        from moodshuffle.act.player import QueuedTrack

        current = self.player.current
        upcoming = rank_upcoming(
            self.table, self.mood, self.policy, self.history, self.cfg.player.upcoming, self.rng, self.cfg.mood,
            current=current.track_id if current is not None else None, start=self.current_target,
        )
        self.upcoming = upcoming
        self.player.set_upcoming([
            QueuedTrack(u.track_id, u.path, u.title, u.artist, self.table.albums[u.index],
                        float(self.table.duration_s[u.index]))
            for u in upcoming
        ])
        if self.player.state in ("idle", "stopped"):
            self.player.play()
        self._event({"type": "queue_reordered", "reason": reason, "policy": self.policy,
                     "upcoming": [_upcoming_dict(u, self.table) for u in upcoming]})
        self._show(reason)
        self._changed()

    # ----------------------------------------------------------------- mood
    def observe(self, obs: Observation) -> None:
        """Hand one observation from a sensing stage to the estimator (event-loop thread)."""
        self.estimator.observe(obs)

    def _tick(self, now: float) -> None:
        previous = self.mood
        self.mood = self.estimator.update(now)
        if self.mood.label != previous.label:
            log.info("mood changed: %s -> %s (confidence %.2f, valence %+.2f, arousal %+.2f)", previous.label,
                     self.mood.label, self.mood.confidence, self.mood.valence, self.mood.arousal)
            self._event({"type": "mood_changed", "from": previous.label, "to": self.mood.label,
                         "confidence": round(self.mood.confidence, 3)})
            self.current_target = None  # meet the listener where they are now
            self._reorder("mood changed")
        if _moved(previous, self.mood):
            self._changed()
        if self._state_dirty:
            self._state_dirty = False
            if self.bridge is not None:
                self.bridge.publish_state(self.snapshot())

    def _changed(self) -> None:
        self._state_dirty = True

    # ----------------------------------------------------------------- report
    def _event(self, event: dict[str, Any]) -> None:
        if self.bridge is not None:
            self.bridge.publish_event(event)

    def _show(self, reason: str) -> None:
        """The live view (``run --live``): mood, now playing, the next three tracks and why."""
        if self.live is None:
            return
        m = self.mood
        current = self.player.current if self.player is not None else None
        lines = [f"[{reason}] mood {m.label} (confidence {m.confidence:.2f}, valence {m.valence:+.2f}, "
                 f"arousal {m.arousal:+.2f}, faces {m.faces}) policy {self.policy}",
                 f"  now playing: {_name(current) if current is not None else '-'}"]
        for u in self.upcoming[:3]:
            v, a = self.table.emotion[u.index, 7:9]
            lines.append(f"  next: {_name(u):<40} track v{v:+.2f} a{a:+.2f}  {_why(u)}")
        self.live("\n".join(lines))

    def snapshot(self) -> dict[str, Any]:
        """The state as a plain dict (the MQTT state payload, see docs/mqtt.md)."""
        mood = self.mood
        player: dict[str, Any] = {"state": "disabled", "volume": None, "track": None}
        if self.player is not None:
            current = self.player.current
            player = {"state": self.player.state, "volume": self.player.volume,
                      "track": _track_dict(current) if current is not None else None}
        voice = {"arousal": None, "speech_recent": False}
        if self.listener is not None:
            voice = self.listener.voice_summary(time.monotonic())
        return {
            "mood": mood.label,
            "probabilities": {name: round(float(p), 4) for name, p in zip(EMOTIONS, mood.probs, strict=True)},
            "valence": round(float(mood.valence), 4),
            "arousal": round(float(mood.arousal), 4),
            "confidence": round(float(mood.confidence), 4),
            "faces": int(mood.faces),
            "policy": self.policy,
            "camera": self._status(self.sampler, self.cfg.camera.enabled),
            "microphone": self._status(self.listener, self.cfg.microphone.enabled),
            "voice": voice,
            "player": player,
            "upcoming": [_upcoming_dict(u, self.table) for u in self.upcoming],
            "library": {"tracks": len(self.table), "scanning": self.scanning},
            "updated": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    @staticmethod
    def _status(stage: Any, enabled: bool) -> str:
        if not enabled:
            return "OFF"
        return stage.status if stage is not None else "unavailable"

    # ----------------------------------------------------------------- commands (CommandHandler)
    def set_policy(self, policy: str) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown policy {policy!r}")
        if policy != self.policy:
            log.info("policy: %s -> %s", self.policy, policy)
            self.policy = policy
            self.current_target = None
            self._reorder("policy changed")
        self._changed()

    def set_camera(self, on: bool) -> None:
        if self.sampler is not None:
            self.sampler.set_enabled(on)
        self._changed()

    def set_microphone(self, on: bool) -> None:
        if self.listener is not None:
            self.listener.set_enabled(on)
        self._changed()

    def player_command(self, cmd: str) -> None:
        if self.player is None:
            return
        {"play": self.player.play, "pause": self.player.pause, "next": self.player.next}[cmd]()
        self._changed()

    def set_volume(self, volume: int) -> None:
        if self.player is not None:
            self.player.set_volume(volume)
        self._changed()

    def rescan(self) -> None:
        self._rescan.set()


def _moved(a: MoodState, b: MoodState) -> bool:
    """A change worth publishing (the state is also rate-limited by the bridge)."""
    return (abs(a.valence - b.valence) > 0.02 or abs(a.arousal - b.arousal) > 0.02
            or abs(a.confidence - b.confidence) > 0.02 or a.faces != b.faces)


def _track_dict(track: Any) -> dict[str, Any]:
    return {"title": track.title, "artist": track.artist, "album": track.album,
            "duration_s": round(float(track.duration_s), 1)}


def _upcoming_dict(u: UpcomingTrack, table: TrackTable) -> dict[str, Any]:
    """A queued track for the state and events: who, why (score parts) and where it sits in
    the emotion space (the track's valence/arousal and the policy target it was chosen for)."""
    valence, arousal = (round(float(v), 3) for v in table.emotion[u.index, 7:9])
    return {"title": u.title, "artist": u.artist, "valence": valence, "arousal": arousal,
            "target": None if u.target is None else [round(float(t), 3) for t in u.target],
            "score": round(float(u.score), 4), "parts": {k: round(float(v), 4) for k, v in u.parts.items()}}


def _name(track: Any) -> str:
    return f"{track.artist} - {track.title}" if track.artist else track.title


def _why(u: UpcomingTrack) -> str:
    return ", ".join(f"{k} {v:+.2f}" for k, v in u.parts.items())


def run(cfg: Config, live: bool = False) -> int:
    """``moodshuffle run``: run until SIGTERM/SIGINT; 0 on a clean stop."""
    printer = (lambda line: print(f"{datetime.now():%H:%M:%S}  {line}", flush=True)) if live else None
    return asyncio.run(Daemon(cfg, live=printer).run())


def remove_discovery(cfg: Config) -> int:
    """``moodshuffle run --remove-discovery``: clear the Home Assistant entries, then exit."""
    from moodshuffle.report.mqtt import remove_discovery as _remove

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_remove(cfg.mqtt, cfg.device_id))
    return 0
