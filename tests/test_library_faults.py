"""Faults a living room's music folder produces, on the real scanner and the real ``scan``
command: a disk not mounted yet, names that are not UTF-8 or hold a newline, FIFOs, link
loops, dangling links, empty and unreadable files."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from moodshuffle.config import LibraryConfig, ModelsConfig
from moodshuffle.library.index import TrackIndex
from moodshuffle.library.scanner import scan_library
from moodshuffle.logs import printable

pytestmark = pytest.mark.real

CLIPS = ["audio/Q1/MT0000040632.opus", "audio/Q2/MT0000011357.opus"]


@pytest.fixture
def library(shared_data, tmp_path):
    """Two real clips in tmp/music, indexed into tmp/index.sqlite3 by the real scanner."""
    music = tmp_path / "music"
    music.mkdir()
    for i, rel in enumerate(CLIPS):
        shutil.copy(shared_data / "music-4q" / rel, music / f"{i}.opus")
    cfg = LibraryConfig(paths=[str(music)], index_path=str(tmp_path / "index.sqlite3"))
    assert scan_library(cfg, ModelsConfig()).analysed == 2
    return cfg, music


def _track_count(cfg: LibraryConfig) -> int:
    index = TrackIndex(cfg.resolved_index_path())
    try:
        return index.track_count()
    finally:
        index.close()


def _scan_cli(cfg: LibraryConfig, tmp_path: Path, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    conf = tmp_path / "scan.yaml"
    conf.write_text(f"library:\n  paths: [{cfg.paths[0]}]\n  index_path: {cfg.index_path}\n")
    return subprocess.run([*prefix, sys.executable, "-m", "moodshuffle", "-c", str(conf), "scan"],
                          capture_output=True, text=True, timeout=120)


def test_a_missing_library_folder_is_unavailable_not_empty(library, tmp_path):
    cfg, music = library
    music.rename(tmp_path / "music.unmounted")
    proc = _scan_cli(cfg, tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert f"unavailable: {music}: missing" in proc.stdout
    assert "0 removed" in proc.stdout and "2 tracks kept" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert _track_count(cfg) == 2

    report = scan_library(cfg, ModelsConfig())
    assert report.unavailable_roots == {str(music): "missing (not mounted?)"}
    assert (report.removed, report.kept) == (0, 2)

    (tmp_path / "music.unmounted").rename(music)
    back = scan_library(cfg, ModelsConfig())
    assert (back.analysed, back.unchanged, back.removed, back.unavailable_roots) == (0, 2, 0, {})


def test_an_empty_mount_point_keeps_its_tracks_and_a_folder_taken_out_of_the_config_does_not(library, tmp_path):
    cfg, music = library
    music.rename(tmp_path / "music.unmounted")
    music.mkdir()  # what an unmounted mount point looks like
    report = scan_library(cfg, ModelsConfig())
    assert report.unavailable_roots == {str(music): "empty (an unmounted drive?)"}
    assert (report.removed, _track_count(cfg)) == (0, 2)

    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    moved = LibraryConfig(paths=[str(elsewhere)], index_path=cfg.index_path)
    report = scan_library(moved, ModelsConfig())
    assert (report.removed, report.unavailable_roots, _track_count(cfg)) == (2, {}, 0)


def test_a_folder_behind_a_dangling_link_keeps_its_tracks(library, tmp_path):
    cfg, music = library
    sub = music / "disk"
    sub.mkdir()
    (music / "0.opus").rename(sub / "0.opus")
    assert scan_library(cfg, ModelsConfig()).renamed == 1
    # a dangling link where the folder was: a disk that a link led to is not mounted
    sub.rename(tmp_path / "disk.unmounted")
    sub.symlink_to(tmp_path / "disk.unmounted")
    assert scan_library(cfg, ModelsConfig()).unchanged == 2  # followed through the link
    (tmp_path / "disk.unmounted").rename(tmp_path / "disk.gone")
    report = scan_library(cfg, ModelsConfig())
    assert report.removed == 0 and report.kept == 1 and _track_count(cfg) == 2
    assert (str(sub), f"dangling symbolic link to {tmp_path / 'disk.unmounted'}") in report.failed


def test_a_name_that_is_not_utf8_is_reported_escaped_and_the_scan_goes_on(library, shared_data, tmp_path):
    cfg, music = library
    bad = os.path.join(os.fsencode(music), b"caf\xe9 \xff.opus")
    shutil.copy(shared_data / "music-4q" / CLIPS[0], bad)
    shutil.copy(shared_data / "music-4q" / "audio/Q3/MT0000004637.opus", music / "z.opus")  # sorts after it
    proc = _scan_cli(cfg, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 analysed" in proc.stdout and "1 failed" in proc.stdout
    assert f"failed: {music}/caf\\xe9 \\xff.opus: file name is not valid UTF-8" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert _track_count(cfg) == 3


def _as_unprivileged() -> tuple[str, ...]:
    """A command prefix under which chmod 000 keeps a file unreadable (root ignores it)."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a chmod 000 file would be readable")
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


def test_the_scan_finishes_on_a_hostile_library_and_names_every_entry(library, tmp_path):
    cfg, music = library
    os.mkfifo(music / "fifo.opus")
    (music / "empty.opus").touch()
    (music / "loop.opus").symlink_to("loop.opus")
    (music / "back").symlink_to(music)
    (music / "dangling.opus").symlink_to(tmp_path / "nowhere.opus")
    locked = music / "locked.opus"
    shutil.copy(music / "0.opus", locked)
    locked.write_bytes(locked.read_bytes() + b"x")  # other content, so not taken for a copy
    locked.chmod(0)
    (music / "two\nlines.opus").write_bytes(b"not audio")
    t0 = time.monotonic()
    proc = _scan_cli(cfg, tmp_path, _as_unprivileged())
    assert time.monotonic() - t0 < 60
    assert proc.returncode == 0, proc.stderr
    failed = {line.split(": ", 2)[1]: line.split(": ", 2)[2] for line in proc.stdout.splitlines()
              if line.startswith("failed: ")}
    assert failed == {
        f"{music}/back": f"symbolic link loop: it leads back to {music}, not scanned twice",
        f"{music}/dangling.opus": f"dangling symbolic link to {tmp_path / 'nowhere.opus'}",
        f"{music}/empty.opus": "empty file",
        f"{music}/fifo.opus": "not a regular file (a FIFO): skipped",
        f"{music}/locked.opus": "unreadable: Permission denied",
        f"{music}/loop.opus": "symbolic link loop",
        f"{music}/two\\nlines.opus": "ffmpeg: Invalid data found when processing input",
    }
    # the name with a newline stays on its log line
    assert not any(line.startswith("lines.opus") for line in (proc.stdout + proc.stderr).splitlines())
    assert _track_count(cfg) == 2


def test_printable_escapes_what_would_break_a_log_line_and_keeps_the_rest():
    assert printable("Beyoncé – Halo 🎵.opus") == "Beyoncé – Halo 🎵.opus"
    assert printable("a\nb\rc\td\x1b[31m\u2028") == "a\\nb\\rc\\td\\x1b[31m\\u2028"
    assert printable(os.fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert printable("C:\\x") == "C:\\\\x"  # a real backslash never reads as an escape


def test_a_call_stuck_on_a_fifo_does_not_hold_up_the_process_exit(tmp_path):
    fifo = tmp_path / "stuck.opus"
    os.mkfifo(fifo)
    script = textwrap.dedent(f"""
        import asyncio
        from moodshuffle.supervise import in_daemon_thread

        async def main():
            task = asyncio.ensure_future(in_daemon_thread(open, {str(fifo)!r}, "rb"))
            await asyncio.sleep(0.3)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                print("cancelled", flush=True)

        asyncio.run(main())
    """)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert proc.stdout.strip() == "cancelled", proc.stderr
    assert time.monotonic() - t0 < 10  # without the daemon thread the exit waits for a writer forever


def test_a_nan_in_the_index_is_left_out_and_analysed_again_at_the_next_scan(library):
    """One NaN in the index made the daemon exit at every start (issue 28)."""
    import sqlite3

    import numpy as np

    cfg, _ = library
    db = sqlite3.connect(cfg.resolved_index_path())
    (first,) = db.execute("SELECT id FROM tracks ORDER BY id LIMIT 1").fetchone()
    db.execute("UPDATE tracks SET emotion = ? WHERE id = ?", (np.full(9, np.nan, np.float32).tobytes(), first))
    db.commit()
    db.close()
    index = TrackIndex(cfg.resolved_index_path())
    try:
        table = index.load_table()
        assert len(table) == 1 and first not in table.ids and np.isfinite(table.emotion).all()
    finally:
        index.close()
    assert scan_library(cfg, ModelsConfig()).analysed == 1  # the damaged one, analysed again
    index = TrackIndex(cfg.resolved_index_path())
    try:
        assert len(index.load_table()) == 2
    finally:
        index.close()


def test_a_music_model_that_says_nan_is_a_model_error_not_an_analysed_track(shared_data):
    """A model file whose weights are damaged loads, but its numbers are garbage: ``scan``
    reported "12 analysed" and stored NaN vectors (issue 28)."""
    import numpy as np

    from moodshuffle.library.analysis import analyse
    from moodshuffle.runtime import ModelError

    class Damaged:
        def predict(self, patches: np.ndarray) -> np.ndarray:
            return np.full(4, np.nan, np.float32)

    with pytest.raises(ModelError, match="non-finite"):
        analyse(shared_data / "music-4q" / CLIPS[0], Damaged())


@pytest.mark.parametrize("damage", ["random pages", "truncated", "bad header"])
def test_a_damaged_index_is_moved_aside_and_rebuilt_with_what_can_be_read(library, damage):
    """A corrupt index made the daemon exit at every start with a traceback (issue 28)."""
    cfg, _ = library
    path = cfg.resolved_index_path()
    blob = bytearray(path.read_bytes())
    if damage == "random pages":
        rng = np.random.default_rng(0)
        page = 4096
        for p in range(2, len(blob) // page):  # leave the header page and the first table page
            blob[p * page:(p + 1) * page] = rng.integers(0, 256, page, dtype=np.uint8).tobytes()
    elif damage == "truncated":
        blob = blob[: len(blob) // 3]
    else:
        blob[:16] = b"not a database!\0"
    path.write_bytes(bytes(blob))
    index = TrackIndex(path)  # no exception: a new index
    try:
        index.load_table()
    finally:
        index.close()
    assert len(list(path.parent.glob("index.sqlite3.damaged-*"))) >= 1
    report = scan_library(cfg, ModelsConfig())
    assert report.analysed + report.unchanged == 2  # what was lost is analysed again
    index = TrackIndex(path)
    try:
        assert len(index.load_table()) == 2
    finally:
        index.close()


def test_an_index_of_a_newer_schema_is_one_clear_line_and_exit_1(library, tmp_path):
    cfg, _ = library
    db = sqlite3.connect(cfg.resolved_index_path())
    db.execute("PRAGMA user_version=99")
    db.commit()
    db.close()
    proc = _scan_cli(cfg, tmp_path)
    assert proc.returncode == 1 and "newer moodshuffle" in proc.stderr and "Traceback" not in proc.stderr


def test_a_track_the_player_failed_is_playable_again_when_its_file_is_back_unchanged(library):
    cfg, music = library
    index = TrackIndex(cfg.resolved_index_path())
    try:
        first = index.load_table().paths[0]
        index.mark_failed(first, "libVLC could not open it")  # moved aside while it played
        assert len(index.load_table()) == 1
        report = scan_library(cfg, ModelsConfig())  # moved back, unchanged
        assert report.analysed == 1
        assert len(index.load_table()) == 2
    finally:
        index.close()


HANG = textwrap.dedent("""
    import sys, threading
    from moodshuffle.library import scanner

    def hung(path, size):  # a read on a hung mount: it never returns, and signals do not end it
        print("reading", path, flush=True)
        while True:
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass

    scanner.fingerprint = hung
    from moodshuffle.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_ctrl_c_stops_a_manual_scan_stuck_on_a_hung_file(tmp_path):
    """Ctrl-C could not stop `moodshuffle scan` stuck on a file of a hung mount: the read ran in
    the main thread (issue 28, item 11)."""
    import signal

    import yaml

    music = tmp_path / "music"
    music.mkdir()
    (music / "stuck.opus").write_bytes(b"\0" * 1000)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(
        {"library": {"paths": [str(music)], "index_path": str(tmp_path / "index.sqlite3")}}))
    # Ctrl-C reaches a foreground process: SIGINT as a terminal leaves it, not ignored as a run
    # started in the background (`cmd &` in a script, nohup) hands it down to every child
    proc = subprocess.Popen([sys.executable, "-c", HANG, "-c", str(tmp_path / "c.yaml"), "scan"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert "reading" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        assert proc.wait(10) == 130
        assert time.monotonic() - t0 < 5
        err = proc.stderr.read()
        assert "stuck.opus" in err and "hung mount" in err and "Traceback" not in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_scan_stuck_on_a_file_is_said_in_the_state_with_the_file(tmp_path, monkeypatch, caplog):
    """`scanning: true` forever with no hint when a file hangs (issue 28, item 11)."""
    import asyncio
    import threading

    from moodshuffle.config import Config
    from moodshuffle.core import Controller
    from moodshuffle.library import scanner
    from moodshuffle.stages import library as stage

    music = tmp_path / "music"
    music.mkdir()
    (music / "stuck.opus").write_bytes(b"\0" * 1000)
    release = threading.Event()

    def hung(path: Path, size: int) -> str:
        release.wait(30)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(scanner, "fingerprint", hung)
    monkeypatch.setattr(stage, "SCAN_STALL_S", 0.4)
    cfg = Config(library=LibraryConfig(paths=[str(music)], index_path=str(tmp_path / "index.sqlite3")))
    core = Controller(cfg, 0.0, np.random.default_rng(0))

    async def scenario() -> tuple[dict[str, str], bool, dict[str, str]]:
        lib = stage.LibraryStage(cfg, core, lambda: False)
        await lib.open()
        task = asyncio.create_task(lib._scan())
        deadline = time.monotonic() + 10
        while "library" not in dict(core.state.errors) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stuck, scanning = dict(core.state.errors), core.state.library.scanning
        release.set()
        await asyncio.wait_for(task, 10)
        lib.close()
        return stuck, scanning, dict(core.state.errors)

    stuck, scanning, after = asyncio.run(scenario())
    assert scanning and "stuck.opus" in stuck.get("library", "") and "hung mount" in stuck["library"], stuck
    assert "library" not in after  # the scan ended: the hint goes
    assert sum("stuck.opus" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records) >= 1
