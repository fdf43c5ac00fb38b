"""The player's file check on storage that fails or hangs (a NAS gone, a FUSE mount aborted):
a reason, within a deadline, never an exception out of the player thread (issue 28)."""

from __future__ import annotations

import errno
import threading
import time
from pathlib import Path

from moodshuffle.act import player


def test_an_io_error_on_the_file_is_a_reason_not_an_exception(monkeypatch):
    def broken(self: Path) -> bool:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(Path, "is_file", broken)
    assert "cannot be read (Input/output error" in player._file_problem("/mnt/nas/a.ogg")


def test_a_hung_file_is_given_up_within_the_deadline(monkeypatch):
    release = threading.Event()

    def hung(self: Path) -> bool:
        release.wait(30)
        return True

    monkeypatch.setattr(Path, "is_file", hung)
    monkeypatch.setattr(player, "FILE_CHECK_S", 0.3)
    t0 = time.monotonic()
    try:
        assert "does not answer" in (player._file_problem("/mnt/nas/a.ogg") or "")
        assert time.monotonic() - t0 < 2.0
    finally:
        release.set()


def test_a_readable_file_and_a_missing_one(tmp_path):
    (tmp_path / "a.ogg").write_bytes(b"x")
    assert player._file_problem(str(tmp_path / "a.ogg")) is None
    assert player._file_problem(str(tmp_path / "b.ogg")) == "file not found"
