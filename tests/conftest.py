"""Shared test fixtures: where the shared data lives, brokers, tables, the face analyser and the
scanned 4Q library.

The scanned library (40 real clips through the real ``moodshuffle scan``, about a minute of one
core) is scanned in the background from the end of collection, only when a selected test needs
it, once per run however many xdist workers run it; those tests run last, so the scan overlaps
the rest of the suite.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from moodshuffle.config import CameraConfig, ModelsConfig
from moodshuffle.domain.tracks import TrackTable
from moodshuffle.perceive.faces import FaceAnalyzer
from tests import SHARED_DATA
from tests._tables import table_from_4q_labels
from tests.broker import Broker, free_port
from tests.daemon import SCANNED_PER_QUADRANT, own_index

#: the background scan's niceness: the tests that run meanwhile (some in real time) come first
SCAN_NICENESS = 5
#: per-test timeout of the tests on the scanned library: the first one may wait for the scan
SCANNED_TIMEOUT_S = 600
#: the key of the scanned library's folder in each xdist worker's ``workerinput``
_SCAN_ROOT = "moodshuffle_scanned_4q"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout (CI and developers have it)."""
    assert SHARED_DATA.is_dir(), f"shared data not found at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture
def broker(tmp_path):
    """A real Mosquitto that wants a password (user ``speaker``, password ``s3cret``)."""
    b = Broker(tmp_path, free_port(), "speaker", "s3cret").start()
    yield b
    b.stop()


@pytest.fixture
def anonymous_broker(tmp_path):
    """A real Mosquitto that lets anyone in."""
    b = Broker(tmp_path, free_port()).start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def table(shared_data) -> TrackTable:
    """The 720 labelled 4Q clips as a track table (``_tables.table_from_4q_labels``)."""
    return table_from_4q_labels(shared_data)


@pytest.fixture(scope="module")
def faces_dir(shared_data) -> Path:
    return shared_data / "faces"


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    """The shipped face path (detector, landmarks, expression model)."""
    return FaceAnalyzer(CameraConfig(), ModelsConfig())


class _SharedScan:
    """``moodshuffle scan`` of the first 10 clips of each quadrant (labels.csv), once per test run.

    Its folder belongs to the run (the xdist controller, or the only process): the first worker
    that needs the library copies the clips and starts the scan in the background, through a
    shell that outlives that worker's interest and leaves the scan's pid in ``scan.pid`` and its
    exit status in ``scan.rc``, where each worker that needs it waits. The run's owner kills what
    is left of it and removes the folder at the end; the scan stays in the run's process group,
    so whatever stops the whole run (a CI timeout) stops it too.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.music = root / "music"
        self.index = root / "index.sqlite3"
        self.log = root / "scan.log"
        self.rc = root / "scan.rc"
        self.pid = root / "scan.pid"
        self.proc: subprocess.Popen[bytes] | None = None

    def start_once(self) -> None:
        try:
            (self.root / "started").mkdir()  # atomic: one worker wins, the others find it there
        except FileExistsError:
            return
        with open(SHARED_DATA / "music-4q" / "labels.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        for q in ("Q1", "Q2", "Q3", "Q4"):
            (self.music / q).mkdir(parents=True)
            for r in [r for r in rows if r["quadrant"] == q][:SCANNED_PER_QUADRANT]:
                shutil.copy(SHARED_DATA / "music-4q" / r["file"], self.music / q)
        cfg = self.root / "scan.yaml"
        cfg.write_text(yaml.safe_dump({"library": {"paths": [str(self.music)], "index_path": str(self.index)}}))
        script = ('"$0" -m moodshuffle -c "$1" scan > "$2" 2>&1 & echo $! > "$3.tmp"; mv "$3.tmp" "$3"; '
                  'wait $!; echo $? > "$4.tmp"; mv "$4.tmp" "$4"')
        self.proc = subprocess.Popen(["/bin/sh", "-c", script, sys.executable, cfg, self.log, self.pid, self.rc],
                                     preexec_fn=lambda: os.nice(SCAN_NICENESS))

    def result(self) -> tuple[Path, Path]:
        # now a test waits for it: back to normal priority where allowed (lowering needs root)
        with contextlib.suppress(OSError, ValueError):
            os.setpriority(os.PRIO_PROCESS, int(self.pid.read_text()), 0)
        deadline = time.monotonic() + SCANNED_TIMEOUT_S - 30
        while not self.rc.exists():
            assert time.monotonic() < deadline, f"moodshuffle scan still running:\n{self._log_tail()}"
            time.sleep(0.1)
        rc = int(self.rc.read_text())
        assert rc == 0, f"moodshuffle scan exited with {rc}:\n{self._log_tail()}"
        return self.music, self.index

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else "(no log)"

    def reap(self) -> None:
        """This worker's part at its end: collect the shell it started, if it has ended."""
        if self.proc is not None:
            self.proc.poll()

    def close(self) -> None:
        """The run's end: kill a scan still running (no test waited for it) and remove the folder."""
        deadline = time.monotonic() + 5  # a run that ends as the scan starts: its pid is on the way
        while self.proc is not None and self.proc.poll() is None and not self.pid.exists() \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.pid.exists() and not self.rc.exists():
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(self.pid.read_text()), signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


_scan: _SharedScan | None = None


#: fixtures that bring real parts: a test that takes one is ``real`` even where unmarked
REAL_FIXTURES = {"broker", "anonymous_broker", "analyzer", "scanned_4q", "scanned_library"}


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    """The run's owner makes the scanned library's folder; xdist workers get its name."""
    global _scan
    if _is_xdist_worker(config):
        _scan = _SharedScan(Path(config.workerinput[_SCAN_ROOT]))
    else:
        _scan = _SharedScan(Path(tempfile.mkdtemp(prefix="moodshuffle-scanned-4q-")))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """(xdist) Every worker shares the run's scanned library."""
    node.workerinput[_SCAN_ROOT] = str(_scan.root)


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if REAL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real)


def pytest_collection_finish(session):
    """After -m/-k: when a selected test needs the scanned library, scan it in the background and
    run those tests last. Under xdist every worker collects the same items; the first one starts
    the scan, the scheduler hands the tests out in this order."""
    users = [item for item in session.items if "scanned_4q" in getattr(item, "fixturenames", ())]
    if not users or session.config.option.collectonly:
        return
    ids = {id(item) for item in users}
    session.items[:] = [item for item in session.items if id(item) not in ids] + users
    for item in users:
        item.add_marker(pytest.mark.timeout(SCANNED_TIMEOUT_S))
    _scan.start_once()


def pytest_sessionfinish(session, exitstatus):
    if _is_xdist_worker(session.config):
        _scan.reap()
    else:
        _scan.close()


@pytest.fixture(scope="session")
def scanned_4q(shared_data) -> tuple[Path, Path]:
    """(music folder, index) of real 4Q clips (the first 10 of each quadrant in labels.csv),
    indexed once per test run, for all its xdist workers, by the real ``moodshuffle scan``. Read
    it only: a test whose daemon writes (listening history) takes ``scanned_library``."""
    assert _scan is not None and (_scan.root / "started").exists(), "scanned_4q is started at collection"
    return _scan.result()


@pytest.fixture
def scanned_library(scanned_4q, tmp_path) -> tuple[Path, Path]:
    """(music folder, this test's own copy of the scanned index, with no listening history)."""
    music, index = scanned_4q
    return music, own_index(index, tmp_path)
