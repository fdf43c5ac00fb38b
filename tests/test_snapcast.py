"""Snapcast fed by MPD, driven by the daemon's MPD player unchanged: MPD's FIFO output goes into a
real snapserver (Debian's ``snapserver``), whose stream turns ``playing`` once the player has
started a track, so every snapclient in the house hears what the daemon chose."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time

import pytest

from moodshuffle.act.mpd_player import MpdPlayer
from moodshuffle.config import MpdConfig
from moodshuffle.core import PlayRequested
from moodshuffle.domain.tracks import Track
from tests.broker import free_port
from tests.mpd_server import MpdServer, Reports, clips

pytestmark = [pytest.mark.real,
              pytest.mark.skipif(shutil.which("snapserver") is None, reason="snapserver not installed")]


def _stream_status(port: int) -> str:
    """The status of snapserver's stream ``MPD`` (``idle``, ``playing``), over its JSON-RPC."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(json.dumps({"id": 1, "jsonrpc": "2.0", "method": "Server.GetStatus"}).encode() + b"\r\n")
        reader = s.makefile("rb")
        while "result" not in (answer := json.loads(reader.readline())):  # notifications come between
            pass
    return next(st["status"] for st in answer["result"]["server"]["streams"] if st["id"] == "MPD")


def test_mpd_fifo_into_snapserver_plays_what_the_daemon_chose(shared_data, tmp_path):
    music = clips(shared_data, tmp_path / "music", ["audio/Q2/MT0000011357.opus"], 4.0)
    fifo, control = tmp_path / "snapfifo", free_port()
    snap = subprocess.Popen(
        ["snapserver", f"--server.datadir={tmp_path}", "--http.enabled=0", "--tcp.bind_to_address=127.0.0.1",
         f"--tcp.port={control}", "--stream.bind_to_address=127.0.0.1", f"--stream.port={free_port()}",
         f"--stream.stream=pipe://{fifo}?name=MPD&sampleformat=48000:16:2", "--logging.sink=stderr"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "snapserver.log", "wb"))  # noqa: SIM115
    server = MpdServer(tmp_path / "mpd", music[0].parent,
                       extra=f'audio_output {{\n  type "fifo"\n  name "snapcast"\n  path "{fifo}"\n'
                             '  format "48000:16:2"\n  mixer_type "software"\n}')
    player = None
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError):
                assert _stream_status(control) == "idle"
                break
            assert time.monotonic() < deadline, (tmp_path / "snapserver.log").read_text()
            time.sleep(0.1)
        server.start()
        reports = Reports()
        player = MpdPlayer(MpdConfig(host="127.0.0.1", port=server.port, music_directory=str(server.music)),
                           reports, 50)
        player.play_requested(PlayRequested(Track(1, str(music[0]), "t", "a", "", 4.0)))
        reports.wait_for(lambda e: e == ("started", 1))
        deadline = time.monotonic() + 5
        while _stream_status(control) != "playing":
            assert time.monotonic() < deadline, "snapserver's stream never played"
            time.sleep(0.1)
    finally:
        if player is not None:
            player.close()
        server.stop()
        snap.terminate()
        snap.wait(10)
