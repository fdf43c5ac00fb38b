"""The index's storage failing, on real file systems (a small tmpfs, mounted read-only or filled):
one clear line instead of a traceback at start, a state, an event and one log line when history
writes fail while running, and recovery when space returns (issue 28, items 7 and 10)."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from moodshuffle.config import Config
from moodshuffle.core import Controller, StageFailed
from moodshuffle.domain.history import MoodContext
from moodshuffle.library.history import ListeningHistory
from moodshuffle.stages.recorder import HistoryRecorder
from tests._tables import random_table
from tests.recorder import Recorder

pytestmark = pytest.mark.real


@contextlib.contextmanager
def tmpfs(where: Path, size: str = "1m"):
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` (ENOSPC ends the write)."""
    big = folder / "fill"
    with contextlib.suppress(OSError), open(big, "wb") as f:
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    return big


def run_daemon(tmp_path: Path, index: Path, *command: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "music").mkdir(exist_ok=True)
    cfg = {"camera": {"enabled": False}, "microphone": {"enabled": False}, "mqtt": {"enabled": False},
           "library": {"paths": [str(tmp_path / "music")], "index_path": str(index)},
           "player": {"vlc_args": ["--aout=dummy", "--quiet"]}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    return subprocess.run([sys.executable, "-m", "moodshuffle", "-c", str(tmp_path / "c.yaml"), *command],
                          capture_output=True, text=True, timeout=60)


def test_a_read_only_index_folder_is_one_clear_line_and_doctor_fails(tmp_path):
    """A read-only index folder: a traceback and exit 1, while doctor said ok (issue 28, item 10)."""
    with tmpfs(tmp_path / "ro") as mnt:
        (mnt / "state").mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        done = run_daemon(tmp_path, mnt / "state" / "index.sqlite3", "run")
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert "read-only file system" in done.stderr and "library.index_path" in done.stderr, done.stderr
        doctor = run_daemon(tmp_path, mnt / "state" / "index.sqlite3", "doctor")
        assert doctor.returncode == 1
        assert any(line.startswith("FAIL library") and "read-only" in line for line in doctor.stdout.splitlines())


def test_starting_on_a_full_disk_is_one_clear_line(tmp_path):
    """Starting on a full disk: `disk I/O error` with a traceback, exit 1 (issue 28, item 7)."""
    with tmpfs(tmp_path / "full", "512k") as mnt:
        (mnt / "state").mkdir()
        fill(mnt)
        done = run_daemon(tmp_path, mnt / "state" / "index.sqlite3", "run")
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert "is full" in done.stderr and str(mnt) in done.stderr, done.stderr


def test_history_writes_failing_on_a_full_disk_are_a_state_an_event_and_one_line_then_recover(tmp_path, caplog):
    """While running, each history event lost on a full disk was a traceback, and nothing showed
    in the state or on MQTT (issue 28, item 7)."""
    caplog.set_level(logging.INFO)
    with tmpfs(tmp_path / "disk", "2m") as mnt:
        history = ListeningHistory(mnt / "index.sqlite3", 180, prune_on_open=False)
        core = Controller(Config(), 0.0, np.random.default_rng(0))
        rec = Recorder()
        core.add_listener(rec)
        recorder = HistoryRecorder(history, lambda reason: core.stage_failed("history", reason))
        core.library_loaded(random_table(10))
        big = fill(mnt)
        for i in range(1, 6):
            recorder.feedback_given(_feedback(core, i))

        def wait(pred) -> None:
            deadline = time.monotonic() + 10
            while not pred():
                assert time.monotonic() < deadline, "condition not met in time"
                time.sleep(0.05)

        wait(lambda: "history" in dict(core.state.errors))
        assert "full" in dict(core.state.errors)["history"]
        assert [e.stage for e in rec.of(StageFailed)] == ["history"]
        time.sleep(0.5)  # the other four events fail too
        lines = [r for r in caplog.records if r.name == "moodshuffle" and "listening history" in r.getMessage()]
        assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]
        big.unlink()  # space returns
        recorder.feedback_given(_feedback(core, 7))
        wait(lambda: "history" not in dict(core.state.errors))
        recorder.close()
        stored = ListeningHistory(mnt / "index.sqlite3", 180, prune_on_open=False)
        assert [f.track_id for f in stored.feedback_records()] == [7]
        stored.close()
    assert any("writing again" in r.getMessage() for r in caplog.records)


def _feedback(core: Controller, track_id: int):
    from moodshuffle.core import FeedbackGiven
    from moodshuffle.domain.history import FeedbackKind

    track = core._library.track(track_id)
    return FeedbackGiven(track, FeedbackKind.LIKE, MoodContext("happy", 0.5, 0.5, "match"), time.time())
