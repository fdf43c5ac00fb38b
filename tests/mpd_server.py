"""A real MPD (Debian's ``mpd``) or Mopidy (``mopidy`` + ``mopidy-mpd``) for tests, on a free
loopback port, with a null audio output and its own database, state and cache in a folder."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import mpd

from moodshuffle.core import PlayerAction
from tests.broker import free_port
from tests.recorder import PlayerReportsLog

MPD = shutil.which("mpd") or "/usr/bin/mpd"
MOPIDY = shutil.which("mopidy") or "/usr/bin/mopidy"


@dataclass
class MpdServer:
    """``music``: the music directory; ``mopidy``: Mopidy's MPD front-end instead of MPD."""

    folder: Path
    music: Path
    port: int = 0
    mopidy: bool = False
    #: more MPD configuration (an extra audio output: Snapcast's FIFO)
    extra: str = ""
    proc: subprocess.Popen | None = None

    def start(self) -> MpdServer:
        self.port = self.port or free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115 - outlives this call, closed with the process
        if self.mopidy:
            conf = self.folder / "mopidy.conf"
            conf.write_text("\n".join([
                "[core]", *(f"{k}_dir = {self.folder / k}" for k in ("cache", "config", "data")),
                "[logging]", "verbosity = 0",
                # sync: in real time, as a sound card would (an unsynced sink plays a song in no time)
                "[audio]", "output = audioconvert ! audioresample ! fakesink sync=true",
                "[mpd]", "enabled = true", "hostname = 127.0.0.1", f"port = {self.port}",
                "[http]", "enabled = false", "[m3u]", "enabled = false", "[stream]", "enabled = false",
                "[file]", "enabled = true", f"media_dirs = {self.music}",
            ]) + "\n")
            self.proc = subprocess.Popen([MOPIDY, "--config", str(conf)], stdout=log, stderr=log)
        else:
            conf = self.folder / "mpd.conf"
            conf.write_text("\n".join([
                f'music_directory "{self.music}"', f'db_file "{self.folder / "db"}"',
                f'state_file "{self.folder / "state"}"', 'bind_to_address "127.0.0.1"', f'port "{self.port}"',
                'audio_output {', '  type "null"', '  name "null"', '  mixer_type "software"', '}', self.extra,
            ]) + "\n")
            self.proc = subprocess.Popen([MPD, "--no-daemon", "--stderr", str(conf)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {(self.folder / 'server.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the server did not start listening")
        if not self.mopidy:
            self.update()
        return self

    def client(self) -> mpd.MPDClient:
        """A second client of the server (a person's MPD app)."""
        c = mpd.MPDClient()
        c.timeout = 10
        c.connect("127.0.0.1", self.port)
        return c

    def update(self) -> None:
        """Let MPD (re)read its music directory, and wait until it has."""
        c = self.client()
        try:
            c.update()
            deadline = time.monotonic() + 20
            while "updating_db" in c.status():
                assert time.monotonic() < deadline, "MPD did not finish updating its database"
                time.sleep(0.05)
        finally:
            c.disconnect()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def clips(shared_data: Path, out: Path, sources: list[str], seconds: float) -> list[Path]:
    """Real 4Q clips cut to ``seconds`` (stream copy: no decoding), as ``clipN.opus`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, rel in enumerate(sources):
        dst = out / f"clip{i}.opus"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(shared_data / "music-4q" / rel), "-t", str(seconds),
                        "-c", "copy", str(dst)], check=True)
        paths.append(dst)
    return paths


class Reports(PlayerReportsLog):
    """Records the player's reports (what the controller receives)."""

    def track_finished(self, track_id: int) -> None:
        self._add("finished", track_id)

    def track_failed(self, track_id: int, reason: str) -> None:
        self._add("failed", track_id, reason)

    def track_changed(self, path: str, position_s: float) -> None:
        self._add("changed", path, position_s)

    def player_command(self, action: PlayerAction) -> None:
        self._add("command", action)

    def set_volume(self, volume: int) -> None:
        self._add("volume", volume)

    def stage_failed(self, stage: str, reason: str | None) -> None:
        self._add("stage", stage, reason)
