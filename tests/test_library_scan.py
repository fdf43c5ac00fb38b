"""Scanner and index on real 4Q clips: incremental, crash-safe, migrating, failure-tolerant."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import mutagen
import numpy as np
import pytest

from moodshuffle.config import LibraryConfig, ModelsConfig
from moodshuffle.library.index import SCHEMA_VERSION, TrackIndex, _v1, connect
from moodshuffle.library.scanner import scan_library

pytestmark = pytest.mark.real

CLIPS = ["audio/Q1/MT0000040632.opus", "audio/Q2/MT0000011357.opus", "audio/Q3/MT0000004637.opus"]


@pytest.fixture
def library(shared_data, tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    for i, rel in enumerate(CLIPS):
        shutil.copy(shared_data / "music-4q" / rel, music / f"{i}.opus")
    cfg = LibraryConfig(paths=[str(music)], index_path=str(tmp_path / "index.sqlite3"))
    return cfg, music


def test_scan_indexes_real_clips_and_a_second_scan_analyses_nothing(library):
    cfg, music = library
    first = scan_library(cfg, ModelsConfig())
    assert (first.analysed, first.failed) == (3, [])
    second = scan_library(cfg, ModelsConfig())
    assert (second.analysed, second.unchanged) == (0, 3)
    table = TrackIndex(cfg.resolved_index_path()).load_table()
    assert len(table) == 3
    assert np.allclose(table.probs.sum(1), 1, atol=1e-4)
    assert ((table.va >= -1) & (table.va <= 1)).all()
    assert ((table.tempo_bpm >= 60) & (table.tempo_bpm <= 200)).all()
    assert set(table.key.tolist()) <= set(range(12))
    # the Q2 (angry/tense metal) clip is more aroused than the Q3 (sad) one
    rows = {Path(p).name: i for i, p in enumerate(table.paths)}
    assert table.va[rows["1.opus"], 1] > table.va[rows["2.opus"], 1]


def test_corrupt_file_is_recorded_failed_and_reported_without_stopping(library):
    cfg, music = library
    (music / "broken.opus").write_bytes(b"OggS" + b"\x00garbage" * 100)
    good = (music / "0.opus").read_bytes()
    (music / "truncated.opus").write_bytes(good[: len(good) // 50])
    report = scan_library(cfg, ModelsConfig())
    failed = dict(report.failed)
    assert str(music / "broken.opus") in failed
    assert report.analysed + len(report.failed) == 5 and report.analysed >= 3
    index = TrackIndex(cfg.resolved_index_path())
    assert str(music / "broken.opus") in dict(index.failed())
    assert str(music / "broken.opus") not in index.load_table().paths


def test_changed_file_is_reanalysed_and_renamed_file_followed(library, shared_data):
    cfg, music = library
    scan_library(cfg, ModelsConfig())
    table = TrackIndex(cfg.resolved_index_path()).load_table()
    before = dict(zip(table.paths, table.ids, strict=True))
    (music / "0.opus").rename(music / "renamed.opus")
    shutil.copy(shared_data / "music-4q" / CLIPS[2], music / "1.opus")  # new content, same path
    report = scan_library(cfg, ModelsConfig())
    assert (report.renamed, report.analysed, report.removed) == (1, 1, 0)
    table = TrackIndex(cfg.resolved_index_path()).load_table()
    after = dict(zip(table.paths, table.ids, strict=True))
    assert after[str(music / "renamed.opus")] == before[str(music / "0.opus")]
    (music / "2.opus").unlink()
    assert scan_library(cfg, ModelsConfig()).removed == 1


def test_killed_scan_loses_at_most_the_track_in_progress(library, shared_data, tmp_path):
    cfg, music = library
    for i in range(3, 8):
        shutil.copy(shared_data / "music-4q" / CLIPS[i % 3], music / f"{i}.opus")
        (music / f"{i}.opus").write_bytes((music / f"{i}.opus").read_bytes() + bytes([i]))  # distinct content
    script = textwrap.dedent(f"""
        from moodshuffle.config import LibraryConfig, ModelsConfig
        from moodshuffle.library.scanner import scan_library
        cfg = LibraryConfig(paths=[{str(music)!r}], index_path={cfg.index_path!r})
        scan_library(cfg, ModelsConfig(), progress=lambda p: print(p.done, flush=True))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "1"
    assert proc.stdout.readline().strip() == "2"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = TrackIndex(cfg.resolved_index_path()).track_count()
    assert 2 <= done < 8
    report = scan_library(cfg, ModelsConfig())
    assert report.analysed == 8 - done and not report.failed
    assert TrackIndex(cfg.resolved_index_path()).track_count() == 8


def test_index_schema_migrates_from_v1(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    _v1(db)
    db.execute("INSERT INTO tracks (path, size, mtime_ns, title, emotion) VALUES ('/m/a.mp3', 1, 1, 'a', ?)",
               (np.zeros(9, np.float32).tobytes(),))
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    migrated = connect(path)
    assert migrated.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert migrated.execute("SELECT path, key, mode FROM tracks").fetchall() == [("/m/a.mp3", -1, 1)]
    assert migrated.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    migrated.close()
    table = TrackIndex(path).load_table()
    assert table.titles == ["a"]


def test_a_library_indexed_by_another_model_is_analysed_again(library, tmp_path):
    cfg, music = library
    scan_library(cfg, ModelsConfig())
    moved = tmp_path / "moved.tflite"  # the same model elsewhere: the same analysis
    shutil.copy(ModelsConfig().music, moved)
    assert scan_library(cfg, ModelsConfig(music=str(moved))).analysed == 0
    retrained = tmp_path / "retrained.tflite"  # other bytes, same contract
    retrained.write_bytes(moved.read_bytes().replace(b'"task": "music emotion', b'"task": "MUSIC EMOTION'))
    assert retrained.read_bytes() != moved.read_bytes()
    (music / "0.opus").rename(music / "renamed.opus")  # a stale analysis does not follow a rename
    report = scan_library(cfg, ModelsConfig(music=str(retrained)))
    assert (report.analysed, report.renamed, report.removed, report.failed) == (3, 0, 1, [])
    assert scan_library(cfg, ModelsConfig(music=str(retrained))).analysed == 0
    assert len(TrackIndex(cfg.resolved_index_path()).load_table()) == 3


def test_an_index_from_before_model_identities_opens_and_is_analysed_again(library):
    cfg, _ = library
    scan_library(cfg, ModelsConfig())
    db = sqlite3.connect(cfg.resolved_index_path())  # back to the v2 schema, as an older release left it
    db.execute("ALTER TABLE tracks DROP COLUMN genre")
    db.execute("ALTER TABLE tracks DROP COLUMN model")
    db.execute("DROP TABLE plays")
    db.execute("DROP TABLE feedback")
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()
    index = TrackIndex(cfg.resolved_index_path())
    assert len(index.load_table()) == 3  # still playable while the rescan runs
    index.close()
    assert scan_library(cfg, ModelsConfig()).analysed == 3
    assert scan_library(cfg, ModelsConfig()).analysed == 0


def _tag(path: Path, genres: list[str]) -> None:
    tags = mutagen.File(str(path), easy=True)
    tags["genre"] = genres
    tags.save()


def test_scan_stores_the_genre_tag_and_the_table_every_normalised_genre(library):
    cfg, music = library
    _tag(music / "0.opus", ["Latin", "Pop/Rock"])  # several values, as AllMusic's genres are written
    _tag(music / "1.opus", ["  Heavy   METAL ; Rock"])  # one messy value
    report = scan_library(cfg, ModelsConfig())
    assert (report.analysed, report.retagged) == (3, 0)
    db = connect(cfg.resolved_index_path())
    stored = dict(db.execute("SELECT path, genre FROM tracks").fetchall())
    db.close()
    assert stored == {str(music / "0.opus"): "Latin; Pop/Rock", str(music / "1.opus"): "Heavy   METAL ; Rock",
                      str(music / "2.opus"): ""}
    table = TrackIndex(cfg.resolved_index_path()).load_table()
    genres = dict(zip((Path(p).name for p in table.paths), table.genres, strict=True))
    assert genres == {"0.opus": ("latin", "pop/rock"), "1.opus": ("heavy metal", "rock"), "2.opus": ()}


def test_an_index_from_before_the_genre_reads_tags_again_without_analysing_the_audio(library):
    cfg, music = library
    scan_library(cfg, ModelsConfig())
    for name in ("0.opus", "1.opus", "2.opus"):
        stat_before = (music / name).stat()
        _tag(music / name, ["Jazz"])  # tagged before the update, as a user's files are
        os.utime(music / name, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))
    db = connect(cfg.resolved_index_path())
    for n in ("0.opus", "1.opus", "2.opus"):  # the index of that release matched the tagged files
        db.execute("UPDATE tracks SET size = ?, mtime_ns = ? WHERE path = ?",
                   ((music / n).stat().st_size, (music / n).stat().st_mtime_ns, str(music / n)))
    db.execute("ALTER TABLE tracks DROP COLUMN genre")  # back to v4, as the previous release left it
    db.execute("PRAGMA user_version=4")
    db.close()
    index = TrackIndex(cfg.resolved_index_path())
    assert index.load_table().genres == [(), (), ()]  # still playable before the scan
    index.close()
    stops = iter([False, True])  # a scan stopped after one file keeps what it read
    first = scan_library(cfg, ModelsConfig(), should_stop=lambda: next(stops, True))
    assert (first.analysed, first.retagged, first.stopped) == (0, 1, True)
    report = scan_library(cfg, ModelsConfig())
    assert (report.analysed, report.unchanged, report.retagged, report.failed) == (0, 3, 2, [])
    assert TrackIndex(cfg.resolved_index_path()).load_table().genres == [("jazz",)] * 3
    assert scan_library(cfg, ModelsConfig()).retagged == 0


def test_scan_command_reports_failed_files(library, tmp_path):
    cfg, music = library
    (music / "broken.opus").write_bytes(b"not audio at all")
    conf = tmp_path / "c.yaml"
    conf.write_text(f"library:\n  paths: [{music}]\n  index_path: {cfg.index_path}\n")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "moodshuffle", "-c", str(conf), "scan"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "3 analysed" in proc.stdout and f"failed: {music / 'broken.opus'}" in proc.stdout
    assert time.monotonic() - t0 < 60
