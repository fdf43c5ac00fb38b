"""Shared test fixtures: where the shared data lives, brokers, tables, the face analyser and the
scanned 4Q library.

The scanned library (40 real clips through the real ``moodshuffle scan``, about a minute on two
busy cores) is scanned in the background from the end of collection, only when a selected test
needs it; those tests run last, so the scan overlaps the rest of the suite.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import subprocess
import sys
import tempfile
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


class _BackgroundScan:
    """``moodshuffle scan`` of the first 10 clips of each quadrant (labels.csv), in a subprocess."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="moodshuffle-scanned-4q-"))
        self.music = self.root / "music"
        self.index = self.root / "index.sqlite3"
        with open(SHARED_DATA / "music-4q" / "labels.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        for q in ("Q1", "Q2", "Q3", "Q4"):
            (self.music / q).mkdir(parents=True)
            for r in [r for r in rows if r["quadrant"] == q][:SCANNED_PER_QUADRANT]:
                shutil.copy(SHARED_DATA / "music-4q" / r["file"], self.music / q)
        cfg = self.root / "scan.yaml"
        cfg.write_text(yaml.safe_dump({"library": {"paths": [str(self.music)], "index_path": str(self.index)}}))
        self.log = open(self.root / "scan.log", "w+")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen([sys.executable, "-m", "moodshuffle", "-c", str(cfg), "scan"], stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=lambda: os.nice(SCAN_NICENESS))

    def result(self) -> tuple[Path, Path]:
        # now a test waits for it: back to normal priority where allowed (lowering needs root)
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, self.proc.pid, 0)
        rc = self.proc.wait(SCANNED_TIMEOUT_S - 30)
        self.log.seek(0)
        assert rc == 0, f"moodshuffle scan exited with {rc}:\n{self.log.read()[-4000:]}"
        return self.music, self.index

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


_scan: _BackgroundScan | None = None


#: fixtures that bring real parts: a test that takes one is ``real`` even where unmarked
REAL_FIXTURES = {"broker", "anonymous_broker", "analyzer", "scanned_4q", "scanned_library"}


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if REAL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real)


def pytest_collection_finish(session):
    """After -m/-k: when a selected test needs the scanned library, scan it in the background and
    run those tests last."""
    global _scan
    users = [item for item in session.items if "scanned_4q" in getattr(item, "fixturenames", ())]
    if not users or session.config.option.collectonly:
        return
    ids = {id(item) for item in users}
    session.items[:] = [item for item in session.items if id(item) not in ids] + users
    for item in users:
        item.add_marker(pytest.mark.timeout(SCANNED_TIMEOUT_S))
    _scan = _BackgroundScan()


def pytest_sessionfinish(session, exitstatus):
    if _scan is not None:
        _scan.close()


@pytest.fixture(scope="session")
def scanned_4q(shared_data) -> tuple[Path, Path]:
    """(music folder, index) of real 4Q clips (the first 10 of each quadrant in labels.csv),
    indexed once per test session by the real ``moodshuffle scan``. Read it only: a test whose
    daemon writes (listening history) takes ``scanned_library``."""
    assert _scan is not None, "scanned_4q is started at collection"
    return _scan.result()


@pytest.fixture
def scanned_library(scanned_4q, tmp_path) -> tuple[Path, Path]:
    """(music folder, this test's own copy of the scanned index, with no listening history)."""
    music, index = scanned_4q
    return music, own_index(index, tmp_path)
