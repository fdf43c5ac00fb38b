"""Shared test fixtures: where the shared data lives."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout (CI and developers have it)."""
    assert SHARED_DATA.is_dir(), f"shared data not found at {SHARED_DATA}"
    return SHARED_DATA


#: clips per quadrant in the scanned test library
SCANNED_PER_QUADRANT = 10


@pytest.fixture(scope="session")
def scanned_4q(shared_data, tmp_path_factory) -> tuple[Path, Path]:
    """(music folder, index) of real 4Q clips (the first 10 of each quadrant in labels.csv),
    indexed once per test session by the real ``moodshuffle scan``."""
    root = tmp_path_factory.mktemp("scanned_4q")
    music = root / "music"
    with open(shared_data / "music-4q" / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for q in ("Q1", "Q2", "Q3", "Q4"):
        (music / q).mkdir(parents=True)
        for r in [r for r in rows if r["quadrant"] == q][:SCANNED_PER_QUADRANT]:
            shutil.copy(shared_data / "music-4q" / r["file"], music / q)
    index = root / "index.sqlite3"
    cfg = root / "scan.yaml"
    cfg.write_text(yaml.safe_dump({"library": {"paths": [str(music)], "index_path": str(index)}}))
    subprocess.run([sys.executable, "-m", "moodshuffle", "-c", str(cfg), "scan"], check=True, capture_output=True,
                   timeout=600)
    return music, index
