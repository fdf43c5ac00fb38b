"""Soak run (by hand, not in CI): the daemon for 30 minutes on a looping video of faces, a
looping speech file and a library of a few hundred scanned tracks, with a local Mosquitto and
libVLC on a dummy output. Reports the daemon's CPU share of one core, its peak RSS, and RSS
growth between the first and last thirds of the run.

    .venv/bin/python bench/soak.py --minutes 30 --index /path/to/scanned/index.sqlite3 --music /path/to/music

Budget (issue 9): under 5% of one core and under 200 MB RSS.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

from tests.broker import Broker, free_port  # noqa: E402


def proc_stats(pid: int) -> tuple[float, int]:
    """(CPU seconds user+system, RSS bytes) of a process from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--index", required=True, help="an index scanned beforehand (moodshuffle scan)")
    parser.add_argument("--music", required=True, help="the folder that index was scanned from")
    parser.add_argument("--interval", type=float, default=2.0, help="camera.interval_s")
    parser.add_argument("--realtime", action="store_true", help="play the video at its frame rate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp), free_port()).start()
        cfg = {
            "device_id": "soak",
            # stepped (realtime: false): one frame decoded per sample, as a live camera delivers it;
            # realtime playback would also decode every frame of the file between samples
            # (about 1.4% of a core here), a cost of the test video, not of the daemon
            "camera": {"source": str(SHARED / "faces/media/WolfgangLanger_Pexels.mp4"), "interval_s": args.interval,
                       "loop": True, "realtime": args.realtime},
            "microphone": {"source": str(SHARED / "speech/audio/ravdess/03-01-05-02-01-01-01.opus"), "loop": True},
            "library": {"paths": [args.music], "index_path": args.index, "scan_on_start": True},
            "player": {"vlc_args": ["--aout=dummy", "--quiet"]},
            "mqtt": {"host": "127.0.0.1", "port": broker.port},
        }
        path = Path(tmp) / "soak.yaml"
        path.write_text(yaml.safe_dump(cfg))
        proc = subprocess.Popen([sys.executable, "-m", "moodshuffle", "-c", str(path), "run"],
                                stdout=subprocess.DEVNULL, stderr=open(Path(tmp) / "log", "w"))  # noqa: SIM115
        time.sleep(30)  # start-up (imports, model loading, the no-op scan) is not steady state
        cpu0, _ = proc_stats(proc.pid)
        t0 = time.monotonic()
        samples = []
        end = t0 + args.minutes * 60
        while time.monotonic() < end and proc.poll() is None:
            time.sleep(10)
            cpu, rss = proc_stats(proc.pid)
            samples.append((time.monotonic() - t0, cpu - cpu0, rss))
        alive = proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        broker.stop()
        log = (Path(tmp) / "log").read_text()
    elapsed, cpu, _ = samples[-1]
    rss = [s[2] for s in samples]
    third = max(1, len(rss) // 3)
    first, last = sum(rss[:third]) / third, sum(rss[-third:]) / third
    print(f"duration {elapsed / 60:.1f} min, daemon alive throughout: {alive}")
    print(f"CPU: {100 * cpu / elapsed:.2f}% of one core (budget 5%)")
    print(f"RSS: peak {max(rss) / 2**20:.0f} MB (budget 200 MB), mean first third {first / 2**20:.1f} MB, "
          f"last third {last / 2**20:.1f} MB, growth {(last - first) / 2**20:+.1f} MB")
    print("RSS every 5 min (MB): " + " ".join(f"{s[2] / 2**20:.0f}" for s in samples[::30]))
    print(f"errors logged: {log.count('ERROR')}, mood changes: {log.count('mood changed')}, "
          f"tracks started: {log.count('now playing')}")
    for line in log.splitlines():
        if "ERROR" in line or "WARNING" in line:
            print("  " + line)


if __name__ == "__main__":
    main()
