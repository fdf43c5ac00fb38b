"""Scans in worker processes on real 4Q clips (library/workers.py): the same rows whatever the
worker count, crash safety under ``kill -9``, a broken model named."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from moodshuffle.config import LibraryConfig, ModelsConfig
from moodshuffle.library.index import TrackIndex
from moodshuffle.library.scanner import scan_library
from moodshuffle.runtime import ModelError

pytestmark = pytest.mark.real

CLIPS = ["audio/Q1/MT0000040632.opus", "audio/Q2/MT0000011357.opus", "audio/Q3/MT0000004637.opus",
         "audio/Q4/MT0000054705.opus"]


@pytest.fixture
def music(shared_data, tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    for i in range(6):
        data = (shared_data / "music-4q" / CLIPS[i % len(CLIPS)]).read_bytes()
        (folder / f"{i}.opus").write_bytes(data + bytes([i]))  # distinct content, same audio
    (folder / "broken.opus").write_bytes(b"OggS" + b"\x00garbage" * 100)
    return folder


def rows(index) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(index)) as db:
        return db.execute("SELECT * FROM tracks ORDER BY id").fetchall()


def test_the_index_is_the_same_row_for_row_whatever_the_worker_count(music, tmp_path):
    found = {}
    for workers in (1, 3):
        cfg = LibraryConfig(paths=[str(music)], index_path=str(tmp_path / f"{workers}.sqlite3"), scan_workers=workers)
        report = scan_library(cfg, ModelsConfig())
        assert (report.analysed, len(report.failed)) == (6, 1)
        found[workers] = rows(cfg.index_path)
    assert len(found[1]) == 7 and found[3] == found[1]


def test_a_scan_killed_mid_way_keeps_every_track_it_reported_and_the_next_resumes(music, tmp_path):
    index = tmp_path / "index.sqlite3"
    script = textwrap.dedent(f"""
        from moodshuffle.config import LibraryConfig, ModelsConfig
        from moodshuffle.library.scanner import scan_library
        cfg = LibraryConfig(paths=[{str(music)!r}], index_path={str(index)!r}, scan_workers=2)
        scan_library(cfg, ModelsConfig(), progress=lambda p: print(p.done, p.path, flush=True))
    """)
    # its own session, so the kill takes the workers too, as a power cut would
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True)
    reported = [proc.stdout.readline().split(" ", 1)[1].strip() for _ in range(3)]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with contextlib.closing(sqlite3.connect(index)) as db:
        kept = dict(db.execute("SELECT path, failed IS NOT NULL OR emotion IS NOT NULL FROM tracks").fetchall())
    assert set(reported) <= set(kept)
    assert 3 <= len(kept) < 7 and all(kept.values()), "a row without its analysis"
    report = scan_library(LibraryConfig(paths=[str(music)], index_path=str(index), scan_workers=2), ModelsConfig())
    assert report.analysed + len(report.failed) == 7 - len(kept)
    assert TrackIndex(index).track_count() == 6


def test_a_music_model_the_workers_cannot_load_stops_the_scan_naming_it(music, tmp_path):
    broken = tmp_path / "music_emotion.tflite"
    broken.write_bytes(b"not a model" * 100)
    cfg = LibraryConfig(paths=[str(music)], index_path=str(tmp_path / "index.sqlite3"), scan_workers=2)
    with pytest.raises(ModelError, match="music_emotion.tflite"):
        scan_library(cfg, ModelsConfig(music=str(broken)))


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            if entry.isdigit() and int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_end_when_their_scan_is_killed_alone(music, tmp_path):
    script = textwrap.dedent(f"""
        from moodshuffle.config import LibraryConfig, ModelsConfig
        from moodshuffle.library.scanner import scan_library
        cfg = LibraryConfig(paths=[{str(music)!r}], index_path={str(tmp_path / "i.sqlite3")!r}, scan_workers=2)
        scan_library(cfg, ModelsConfig(), progress=lambda p: print(p.done, flush=True))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    workers = children(proc.pid)
    assert len(workers) >= 2
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 15
    while any(running(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(running(p) for p in workers), "workers outlived their scan"
