"""CPU seconds per track for the whole analysis (decode, model, tempo/key/energy), one thread;
with ``--workers``, the throughput of whole scans (``scan_library`` into a fresh index) at each
worker count, and the peak memory (RSS) of each worker process and of the scanning process.

    .venv/bin/python bench/bench_scan.py [--tracks 60]
    .venv/bin/python bench/bench_scan.py --tracks 24 --workers 1,2,3

Budget (issue 5): at most 1 s of CPU per track on the development machine. Target (issue 31):
2 workers at least 1.8x the tracks per second of 1 on the two cores here.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "daemon"))

import numpy as np  # noqa: E402

from moodshuffle.config import LibraryConfig, ModelsConfig  # noqa: E402
from moodshuffle.library.analysis import analyse  # noqa: E402
from moodshuffle.library.music_model import MusicEmotionModel  # noqa: E402
from moodshuffle.library.scanner import scan_library  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def workers_of(pid: int) -> list[int]:
    """This process's analysis workers (spawned children, not multiprocessing's resource tracker)."""
    out = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid \
                    and b"resource_tracker" not in (entry / "cmdline").read_bytes():
                out.append(int(entry.name))
        except OSError:
            continue
    return out


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakMemory:
    """Polls the RSS of this process and of each of its workers every 0.2 s while running, and
    each worker's CPU seconds (the last reading before it ended)."""

    def __init__(self) -> None:
        self.parent = 0.0
        self.workers: dict[int, float] = {}
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            self.parent = max(self.parent, rss_mb(os.getpid()))
            for pid in workers_of(os.getpid()):
                with contextlib.suppress(OSError):
                    self.workers[pid] = max(self.workers.get(pid, 0.0), rss_mb(pid))
                    self.cpu[pid] = cpu_s(pid)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def throughput(files: list[Path], counts: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        music = Path(tmp) / "music"
        music.mkdir()
        for i, f in enumerate(files):
            shutil.copy(f, music / f"{i:03d}{f.suffix}")
        for workers in counts:
            cfg = LibraryConfig(paths=[str(music)], index_path=str(Path(tmp) / f"index-{workers}.sqlite3"),
                                scan_workers=workers)
            memory = PeakMemory()
            load0 = os.getloadavg()[0]
            t0 = time.monotonic()
            c0 = os.times()
            report = scan_library(cfg, ModelsConfig())
            wall = time.monotonic() - t0
            memory.stop()
            own = os.times().user + os.times().system - c0.user - c0.system
            each = ", ".join(f"{m:.0f}" for m in sorted(memory.workers.values())) or "-"
            print(f"{workers} worker(s): {report.analysed} tracks in {wall:.1f} s = {report.analysed / wall:.2f} "
                  f"tracks/s (worker start included); peak RSS scanning process {memory.parent:.0f} MB, "
                  f"workers {each} MB; CPU s: scanning process {own:.1f}, workers "
                  f"{', '.join(f'{c:.1f}' for c in sorted(memory.cpu.values())) or '-'} "
                  f"(of a wall {wall:.1f} s); load {load0:.2f} -> {os.getloadavg()[0]:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracks", type=int, default=60)
    parser.add_argument("--workers", default="", help="worker counts to scan with, e.g. 1,2,3")
    args = parser.parse_args()
    with open(SHARED / "music-4q" / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:: 720 // args.tracks][: args.tracks]
    if args.workers:
        throughput([SHARED / "music-4q" / r["file"] for r in rows], [int(w) for w in args.workers.split(",")])
        return
    model = MusicEmotionModel(Path(ModelsConfig().music))
    analyse(SHARED / "music-4q" / rows[0]["file"], model)  # warm-up
    cpu = []
    for r in rows:
        t0 = time.process_time()
        analyse(SHARED / "music-4q" / r["file"], model)
        cpu.append(time.process_time() - t0)
    print(f"{len(cpu)} clips (~30 s each): CPU per track median {np.median(cpu):.3f} s, "
          f"p95 {np.percentile(cpu, 95):.3f} s, max {max(cpu):.3f} s")


if __name__ == "__main__":
    main()
