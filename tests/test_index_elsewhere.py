"""An index built on another machine over the same music (library.path_map), on real parts: the
real ``moodshuffle scan`` on 'the desktop', the music folder moved to where 'the speaker' mounts
it, the index copied, and the speaker's index and scanner use it as it is."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from moodshuffle.config import LibraryConfig, ModelsConfig
from moodshuffle.library.index import TrackIndex
from moodshuffle.library.music_model import model_identity
from moodshuffle.library.scanner import scan_library

pytestmark = pytest.mark.real

CLIPS = ["audio/Q1/MT0000040632.opus", "audio/Q2/MT0000011357.opus", "audio/Q3/MT0000004637.opus"]


def scan(config: dict, folder) -> str:
    path = folder / "scan.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run([sys.executable, "-m", "moodshuffle", "-c", str(path), "scan"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture
def desktop(shared_data, tmp_path):
    """The desktop's view of the NAS share (two albums), its index, and where the speaker mounts it."""
    share = tmp_path / "desktop" / "nas" / "music"
    for i, rel in enumerate(CLIPS):
        album = share / f"album {i % 2}"
        album.mkdir(parents=True, exist_ok=True)
        shutil.copy2(shared_data / "music-4q" / rel, album / f"{i}.opus")
    speaker_root = tmp_path / "speaker" / "srv" / "music"
    library = {"paths": [str(share)], "index_path": str(tmp_path / "desktop" / "index.sqlite3"),
               "path_map": [f"{share} -> {speaker_root}"]}
    return share, speaker_root, library


def test_an_index_scanned_on_the_desktop_is_used_by_the_speaker_as_it_is(desktop, tmp_path):
    share, speaker_root, library = desktop
    assert "3 analysed" in scan({"library": library}, tmp_path / "desktop")
    # the desktop's next scan knows its files through the map
    assert "0 analysed, 3 unchanged" in scan({"library": library}, tmp_path / "desktop")

    speaker_root.parent.mkdir(parents=True)
    shutil.move(share, speaker_root)  # the same files, now where the speaker sees them
    speaker_index = tmp_path / "speaker" / "library.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(library["index_path"] + suffix):
            shutil.copy(library["index_path"] + suffix, f"{speaker_index}{suffix}")

    table = TrackIndex(speaker_index).load_table()
    assert len(table) == 3
    assert all(os.path.isfile(p) and p.startswith(str(speaker_root) + os.sep) for p in table.paths)
    speaker = LibraryConfig(paths=[str(speaker_root)], index_path=str(speaker_index))
    report = scan_library(speaker, ModelsConfig())
    assert (report.analysed, report.unchanged, report.removed, report.failed) == (0, 3, 0, [])
    assert TrackIndex(speaker_index).load_table().ids.tolist() == table.ids.tolist()


def test_the_model_identity_check_still_applies_to_an_index_from_elsewhere(desktop, tmp_path):
    share, speaker_root, library = desktop
    scan({"library": library}, tmp_path / "desktop")
    speaker_root.parent.mkdir(parents=True)
    shutil.move(share, speaker_root)
    retrained = tmp_path / "retrained.tflite"  # the speaker runs another music model (other bytes, same contract)
    original = Path(ModelsConfig().music).read_bytes()
    retrained.write_bytes(original.replace(b'"task": "music emotion', b'"task": "MUSIC EMOTION'))
    assert model_identity(retrained) != model_identity(ModelsConfig().music)
    speaker = LibraryConfig(paths=[str(speaker_root)], index_path=library["index_path"])
    report = scan_library(speaker, ModelsConfig(music=str(retrained)))
    assert (report.analysed, report.removed, report.failed) == (3, 0, [])
