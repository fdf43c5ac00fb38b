"""The MPD player (adapter: python-mpd2's asyncio client) for MPD or Mopidy (mopidy-mpd): the
daemon owns only the songs after the current one in MPD's queue.

It plays what it is asked and keeps the songs after the current one equal to the daemon's list
(``mpd_queue.plan``; a person's first); played songs of its own beyond 20 go (``trim_played``).
What other clients do comes back as the controller's own inputs: a song MPD moved to before the
current one ended (``next``, a choice) is ``track_changed``, pause/play and volume are
``player_command`` and ``set_volume``. A song that never starts (MPD skips a file it cannot open,
Mopidy stalls at 0 s: given up after STALL_S) is ``track_failed``: the music goes on.

The connection lives on an event loop in a thread of its own (a slow or gone MPD never holds up
the daemon) and comes back with back-off after MPD restarts; reports go to the loop given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable

import mpd
from mpd.asyncio import MPDClient

from moodshuffle.act.base import Player, PlayerReports
from moodshuffle.act.mpd_queue import Add, Delete, Move, Song, plan, status_int, trim_played
from moodshuffle.act.mpd_uris import path_to_uri, uri_to_path
from moodshuffle.config import MpdConfig
from moodshuffle.core import PauseRequested, PlayerAction, PlayRequested, QueueReordered, TrackStarted, VolumeChanged
from moodshuffle.domain.tracks import Track
from moodshuffle.logs import printable

log = logging.getLogger("moodshuffle.player")

#: a requested song that has not started after this long is given up (Mopidy stalls at 0 s)
STALL_S = 5.0
#: a song left within this many seconds of its end finished (MPD's idle comes a little late)
END_SLACK_S = 2.0
BACKOFF_S = (1.0, 30.0)
#: how often the position is looked at while a requested song has not started yet
START_POLL_S = 0.2


class MpdPlayer(Player):
    """Drives an MPD server; ``volume``: the start volume, 0..100."""

    def __init__(self, cfg: MpdConfig, reports: PlayerReports, volume: int,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._cfg, self._reports, self._report_loop, self._volume = cfg, reports, loop, volume
        self._mpd_volume: int | None = None  # MPD's when last seen (None: no mixer): a change is a person's
        self._wanted: tuple[Track, ...] = ()
        self._requested: Track | None = None
        self._pending = self._paused = False  # _pending: the request is still to be asked of MPD
        self._ours: dict[int, Track] = {}  # MPD song id -> the track the daemon queued there
        self._failed: set[int] = set()
        self._playing_id: int | None = None  # and its track, when it is the daemon's:
        self._playing: Track | None = None
        self._playing_uri, self._started, self._since = "", False, 0.0
        self._left: int | None = None  # the song id MPD played before the daemon's latest play
        self._synced: tuple[object, ...] = ()
        self._position = (0.0, 0.0, False)  # elapsed, when seen (monotonic), advancing
        self._mpd_state = ""
        self._music_directory, self._file_uris, self._closing = cfg.music_directory, False, False
        self.connected = threading.Event()
        self._own = asyncio.new_event_loop()
        self._wake = asyncio.Event()
        self._main: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._own.run_forever, name="mpd-player", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._own).result(timeout=3)

    # ----------------------------------------------------------------- CoreListener (any thread)
    def queue_reordered(self, event: QueueReordered) -> None:
        self._post(self._set_wanted, tuple(u.track for u in event.upcoming))

    def play_requested(self, event: PlayRequested) -> None:
        self._post(self._set_requested, event.track)

    def pause_requested(self, event: PauseRequested) -> None:
        self._post(setattr, self, "_paused", event.paused)

    def volume_changed(self, event: VolumeChanged) -> None:
        self._post(setattr, self, "_volume", event.volume)

    def track_started(self, event: TrackStarted) -> None:
        self._post(self._adopted, event.track)

    def stop(self) -> None:
        """Nothing to stop: MPD plays on for the people using it after the daemon has gone."""

    def close(self) -> None:
        """Disconnect and end the player's thread (MPD plays on)."""
        self._closing = True
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._own).result(timeout=3)
        self._own.call_soon_threadsafe(self._own.stop)
        self._thread.join(timeout=3)
        if not self._thread.is_alive():
            self._own.close()

    async def _start(self) -> None:
        self._main = asyncio.create_task(self._run(), name="mpd-player")

    async def _shutdown(self) -> None:
        if self._main is not None:
            self._main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._main
        for _ in range(3):  # python-mpd2's reader task ends on the next turns of the loop
            await asyncio.sleep(0)

    # ----------------------------------------------------------------- requests (own loop)
    def _post(self, method: Callable[..., None], *args: object) -> None:
        if self._closing:  # the controller may still speak during shutdown
            return

        def run() -> None:
            method(*args)
            self._wake.set()

        self._own.call_soon_threadsafe(run)

    def _set_wanted(self, tracks: tuple[Track, ...]) -> None:
        self._wanted = tracks

    def _set_requested(self, track: Track | None) -> None:
        self._requested, self._pending = track, True
        if track is not None:
            self._wanted = tuple(t for t in self._wanted if t.track_id != track.track_id)

    def _adopted(self, track: Track) -> None:
        """The controller took the song MPD moved to (``track_changed``) as its current track."""
        if self._playing_id is not None and self._uri(track) == self._playing_uri:
            self._requested, self._playing, self._started = track, track, True

    def _report(self, method: Callable[..., None], *args: object) -> None:
        if self._report_loop is not None:
            self._report_loop.call_soon_threadsafe(method, *args)
        else:
            method(*args)

    # ----------------------------------------------------------------- connection (own loop)
    async def _run(self) -> None:
        delay = BACKOFF_S[0]
        where = self._cfg.host if self._cfg.host.startswith("/") else f"{self._cfg.host}:{self._cfg.port}"
        while not self._closing:
            client = MPDClient()
            try:
                await asyncio.wait_for(client.connect(self._cfg.host, self._cfg.port), 5)
                if self._cfg.password:
                    await client.password(self._cfg.password)
                await self._learn_uris(client)
                log.info("MPD at %s: connected (MPD protocol %s)", where, client.mpd_version)
                delay = BACKOFF_S[0]
                self.connected.set()
                self._report(self._reports.stage_failed, "player", None)  # the state's error clears
                await self._session(client)
            except (OSError, TimeoutError, mpd.ConnectionError, mpd.CommandError) as exc:
                log.warning("MPD at %s: %s (again in %.0f s)", where, exc or type(exc).__name__, delay)
                self._report(self._reports.stage_failed, "player", f"MPD at {where}: {exc or type(exc).__name__}")
            finally:
                self.connected.clear()
                client.disconnect()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_S[1])

    async def _learn_uris(self, client: MPDClient) -> None:
        """How this server names files: Mopidy by file:// URIs; MPD relative to its music directory
        (asked when not configured: MPD answers only over its local socket)."""
        commands = await client.commands()
        self._file_uris = "config" not in commands  # Mopidy has no `config`
        if self._file_uris or self._music_directory:
            return
        try:
            self._music_directory = str((await client.config())["music_directory"])
        except mpd.CommandError as exc:
            raise mpd.ConnectionError(f"player.mpd.music_directory: not set, and MPD does not say ({exc}): set "
                                      "it to where MPD's music directory is on this machine") from exc

    async def _session(self, client: MPDClient) -> None:
        queue = await client.playlistinfo()
        mine = {self._uri(t): t for t in (*self._wanted, *([self._requested] if self._requested else []))}
        self._ours = {int(s["id"]): mine[s["file"]] for s in queue if s["file"] in mine}
        status = await client.status()
        current = self._ours.get(status_int(status, "songid") or -1)
        if self._requested is not None and (current is None or current.track_id != self._requested.track_id):
            self._pending = True  # MPD restarted without it: play it again
        self._playing_id = status_int(status, "songid")
        self._playing_uri = next((s["file"] for s in queue if s.get("id") == status.get("songid")), "")
        self._mpd_state, self._synced = "", ()  # a state from before the restart is not a person's command
        self._mpd_volume = status_int(status, "volume")  # set to the daemon's by the first reconcile
        watcher = asyncio.ensure_future(self._watch(client))
        try:
            while True:
                await self._reconcile(client)
                if watcher.done():
                    watcher.result()  # the connection's error
                polling = self._requested is not None and not self._started
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), START_POLL_S if polling else 1.0)
                self._wake.clear()
        finally:
            watcher.cancel()

    async def _watch(self, client: MPDClient) -> None:
        async for _changes in client.idle(["player", "playlist", "mixer", "options"]):
            self._wake.set()

    # ----------------------------------------------------------------- reconcile (own loop)
    async def _reconcile(self, client: MPDClient) -> None:
        status = await client.status()
        await self._observe(client, status)
        if self._pending:
            self._pending = False
            await self._play(client, status)
            status = await client.status()
        state, want = status["state"], "pause" if self._paused else "play"
        if state != want and self._playing_id is not None and not (self._paused and state == "stop"):
            self._mpd_state = want
            await (client.pause(1) if self._paused else client.play())
        if self._mpd_volume is not None and self._mpd_volume != self._volume:
            await client.setvol(self._volume)
            self._mpd_volume = self._volume
        # the queue is read again only when it, the song playing or the daemon's list changed
        synced = (status.get("playlist"), self._playing_id, self._wanted, len(self._failed))
        if synced != self._synced:
            self._synced = synced
            await self._sync(client, status)

    async def _observe(self, client: MPDClient, status: dict[str, str]) -> None:
        """Report what MPD did since the last look (its other clients, or by itself)."""
        now = time.monotonic()
        state, songid, volume = status["state"], status_int(status, "songid"), status_int(status, "volume")
        if volume is not None and self._mpd_volume is not None and volume != self._mpd_volume:
            self._volume = volume
            self._report(self._reports.set_volume, volume)
        self._mpd_volume = volume
        # a server slow to start a song shows none, or the one it left (Mopidy), for a moment
        starting = self._playing is not None and not self._started and now - self._since < STALL_S
        if songid != self._playing_id and not self._pending and not (starting and songid in (None, self._left)):
            song = await client.currentsong() if songid is not None else {}
            self._moved(songid, str(song.get("file", "")), now)
        elif state == "stop" and self._playing is not None and not self._started and not self._pending \
                and ("error" in status or not starting):
            # MPD gave up on the song it was asked to start (it stops when nothing follows)
            self._fail(self._playing, f"MPD could not play it: {status.get('error', 'it stopped')}")
        elif self._mpd_state and state != self._mpd_state and self._playing_id is not None:
            paused = state != "play"
            if paused != self._paused:
                self._paused = paused
                self._report(self._reports.player_command, PlayerAction.PAUSE if paused else PlayerAction.PLAY)
        self._mpd_state = state
        elapsed = float(status.get("elapsed", 0.0))
        self._position = (elapsed, now, state == "play")
        track = self._playing
        if track is None or self._started or track is not self._requested or self._pending:
            return
        if state == "play" and elapsed > 0:
            self._started = True
            self._report(self._reports.track_started, track.track_id)
        elif state == "play" and now - self._since > STALL_S:
            self._fail(track, f"MPD did not start it within {STALL_S:.0f} s (missing or unreadable file?)")

    def _moved(self, songid: int | None, uri: str, now: float) -> None:
        """MPD left the song playing for ``songid`` (None: none) by itself."""
        old, started, heard = self._playing, self._started, self._heard(now)
        self._playing_id, self._playing_uri, self._since = songid, uri, now
        self._playing, self._started = self._ours.get(songid) if songid is not None else None, False
        if old is not None and not started:
            self._fail(old, "MPD could not play it (missing or unreadable file?)")
        elif old is not None and (songid is None or heard >= old.duration_s - END_SLACK_S):
            self._report(self._reports.track_finished, old.track_id)
        elif songid is not None:
            path = uri_to_path(uri, self._music_directory) or uri
            log.info("MPD moved to %s by itself (another client)", printable(path))
            self._report(self._reports.track_changed, path, round(heard, 1))

    def _heard(self, now: float) -> float:
        elapsed, seen, advancing = self._position
        return elapsed + (now - seen if advancing else 0.0)

    def _fail(self, track: Track, reason: str) -> None:
        if track.track_id not in self._failed:
            self._failed.add(track.track_id)
            self._report(self._reports.track_failed, track.track_id, reason)
        if self._playing is track:
            self._playing = None

    async def _play(self, client: MPDClient, status: dict[str, str]) -> None:
        track = self._requested
        if track is None:
            await client.stop()
            return
        if self._playing_id is not None and self._playing_uri == self._uri(track):
            self._playing = track  # MPD is on it already (it went on to it by itself)
            return
        uri = self._uri(track)
        if uri is None:
            self._fail(track, "outside MPD's music directory (player.mpd.music_directory)")
            return
        if self._playing is not None and self._started:
            self._report(self._reports.track_stopped, self._playing.track_id, round(self._heard(time.monotonic()), 1))
        queue = await client.playlistinfo()
        at = song + 1 if (song := status_int(status, "song")) is not None else len(queue)
        songid = next((int(s["id"]) for s in queue[at:] if int(s["id"]) in self._ours and s["file"] == uri), None)
        try:
            if songid is None:
                songid = int(await client.addid(uri, at))
                self._ours[songid] = track
            await client.playid(songid)
        except mpd.CommandError as exc:
            self._fail(track, f"MPD cannot play it: {exc}")
            return
        self._left, self._playing_id, self._playing_uri, self._playing = self._playing_id, songid, uri, track
        self._started, self._since, self._mpd_state, self._paused = False, time.monotonic(), "play", False

    async def _sync(self, client: MPDClient, status: dict[str, str]) -> None:
        """The songs after the current one: a person's first, then the daemon's upcoming list."""
        queue = [Song(int(s["id"]), str(s["file"])) for s in await client.playlistinfo()]
        # the song the daemon asked for is the current one even where MPD's status lags (Mopidy)
        asked = (i for i, song in enumerate(queue) if song.songid == self._playing_id)
        current = next(asked, status_int(status, "song"))
        by_uri: dict[str, Track] = {}
        for t in self._wanted:
            uri = self._uri(t)
            if uri is not None and t.track_id not in self._failed:
                by_uri.setdefault(uri, t)
        for op in plan(queue, current, set(self._ours), list(by_uri)):
            try:
                if isinstance(op, Delete):
                    await client.deleteid(op.songid)
                    self._ours.pop(op.songid, None)
                elif isinstance(op, Move):
                    await client.moveid(op.songid, op.position)
                elif isinstance(op, Add):
                    self._ours[int(await client.addid(op.uri, op.position))] = by_uri[op.uri]
            except mpd.CommandError as exc:
                if isinstance(op, Add):
                    self._fail(by_uri[op.uri], f"MPD cannot queue it: {exc}")
                    return  # the controller chooses again without it
                log.warning("MPD refused %s: %s", op, exc)
        for old in trim_played(queue, current, set(self._ours)):
            with contextlib.suppress(mpd.CommandError):  # already gone: a client deleted it
                await client.deleteid(old.songid)
            self._ours.pop(old.songid, None)

    def _uri(self, track: Track) -> str | None:
        return path_to_uri(track.path, self._music_directory, self._file_uris)
