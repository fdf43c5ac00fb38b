"""The index's storage failing, on real file systems (a small tmpfs, mounted read-only or filled):
one clear line instead of a traceback at start, a state, an event and one log line when history
writes fail while running, and recovery when space returns (issue 28, items 7 and 10)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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
