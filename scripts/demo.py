"""A one-minute demo without a camera: the daemon watches a video of a woman going from crying
to laughing, hears a speech file, and reorders a queue of real music clips, printing a live
view. Run by ``make demo``.

    .venv/bin/python scripts/demo.py [--seconds 60] [--audio]   (--audio: play through the speakers)
"""

from __future__ import annotations

import argparse
import csv
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
CACHE = Path.home() / ".cache" / "moodshuffle-demo"
PER_QUADRANT = 12


def demo_library() -> tuple[Path, Path]:
    """48 real 4Q clips (12 per quadrant) in a cached folder, scanned once."""
    music, index = CACHE / "music", CACHE / "index.sqlite3"
    if not music.is_dir():
        with open(SHARED / "music-4q" / "labels.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        for q in ("Q1", "Q2", "Q3", "Q4"):
            (music / q).mkdir(parents=True, exist_ok=True)
            for r in [r for r in rows if r["quadrant"] == q][:PER_QUADRANT]:
                shutil.copy(SHARED / "music-4q" / r["file"], music / q)
    return music, index


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--audio", action="store_true", help="play the music (default: silent dummy output)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"demo media not found: {SHARED}", file=sys.stderr)
        return 1
    music, index = demo_library()
    config = {
        "device_id": "demo",
        "log_level": "WARNING",
        "camera": {"source": str(SHARED / "faces" / "media" / "WolfgangLanger_Pexels.mp4"), "interval_s": 1.0,
                   "loop": True},
        "microphone": {"source": str(SHARED / "speech" / "audio" / "ravdess" / "03-01-03-02-01-01-01.opus"),
                       "loop": True},
        "library": {"paths": [str(music)], "index_path": str(index)},
        "player": {"vlc_args": ["--quiet"] if args.audio else ["--aout=dummy", "--quiet"], "upcoming": 5},
        "mqtt": {"enabled": False},
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.yaml"
        path.write_text(yaml.safe_dump(config))
        print("scanning the demo library (first run only)...", flush=True)
        subprocess.run([sys.executable, "-m", "moodshuffle", "-c", str(path), "scan"], check=True,
                       stdout=subprocess.DEVNULL)
        print(f"running the daemon for {args.seconds} s on a video of a face going from crying to laughing\n",
              flush=True)
        daemon = subprocess.Popen([sys.executable, "-m", "moodshuffle", "-c", str(path), "run", "--live"])
        try:
            daemon.wait(args.seconds)
        except subprocess.TimeoutExpired:
            daemon.send_signal(signal.SIGTERM)  # a clean stop, as systemd does it
            daemon.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
